"""Splits (reproducible, disjoint, stratified, robust on tiny classes), nested subsets, and the data report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tlcore.data import DataError, Dataset, Split, build_report, make_split, subset_per_class


def _ds(counts: list[int], dup_pairs: list[tuple[int, int]] = ()) -> Dataset:
    labels = np.repeat(np.arange(len(counts)), counts)
    hashes = [f"h{i}" for i in range(len(labels))]
    for a, b in dup_pairs:
        hashes[b] = hashes[a]
    return Dataset(name="t", modality="text", items=[f"t{i}" for i in range(len(labels))], labels=labels,
                   classes=[f"c{i}" for i in range(len(counts))], item_names=[f"item{i}" for i in range(len(labels))],
                   item_hashes=hashes)


def test_split_reproducible_disjoint_stratified():
    ds = _ds([60, 30, 10])
    a, b, c = make_split(ds, seed=1), make_split(ds, seed=1), make_split(ds, seed=2)
    assert a == b and a.id == b.id and a.id != c.id
    parts = [a.train, a.val, a.test]
    assert all(p.dtype == np.int64 and np.all(np.diff(p) > 0) for p in parts)
    assert sum(map(len, parts)) == 100 and len(np.unique(np.concatenate(parts))) == 100
    assert np.bincount(ds.labels[a.test]).tolist() == [12, 6, 2]
    assert a.sizes() == {"train": 65, "val": 15, "test": 20}
    assert Split.from_dict(json.loads(json.dumps(a.to_dict()))) == a


@pytest.mark.parametrize("counts", [[2, 2], [2, 3, 40], [3] * 7, [2] * 30])
def test_tiny_classes_fall_back_without_sklearn_errors(counts):
    ds = _ds(counts)
    s = make_split(ds, seed=0)
    for c in range(len(counts)):
        assert (ds.labels[s.train] == c).sum() >= 1
        assert (ds.labels[s.test] == c).sum() >= 1
    assert len(np.unique(np.concatenate([s.train, s.val, s.test]))) == sum(counts)


def test_class_with_one_item_is_an_error():
    ds = _ds([5, 1])
    report = build_report(ds)
    assert not report.ok
    assert "class 'c1' has only 1 example; every class needs at least 2" in report.errors
    with pytest.raises(DataError, match="class 'c1' has only 1 example"):
        make_split(ds)


def test_subset_per_class_nested_and_inside_train():
    ds = _ds([40, 40, 5])
    s = make_split(ds, seed=0)
    small = subset_per_class(ds.labels, s.train, 2, seed=7)
    big = subset_per_class(ds.labels, s.train, 10, seed=7)
    assert set(small) <= set(big) <= set(s.train)
    assert not set(big) & (set(s.test) | set(s.val))
    assert np.bincount(ds.labels[big]).tolist() == [10, 10, (ds.labels[s.train] == 2).sum()]
    assert np.array_equal(subset_per_class(ds.labels, s.train, None, 7), s.train)
    assert not np.array_equal(big, subset_per_class(ds.labels, s.train, 10, seed=8))


def test_report_duplicates_cross_class_imbalance_and_split_leakage():
    ds = _ds([24, 3], dup_pairs=[(0, 1), (2, 25)])
    split = make_split(ds, seed=0)
    r = build_report(ds, split)
    assert r.ok and r.counts == {"c0": 24, "c1": 3} and r.imbalance_ratio == 8.0
    assert sorted(map(sorted, r.duplicate_groups)) == [["item0", "item1"], ["item2", "item25"]]
    assert r.cross_class_duplicates == [["item2", "item25"]]
    assert any("class 'c1' has only 3 examples" in w for w in r.warnings)
    assert any("8.0× the smallest" in w for w in r.warnings)
    assert build_report(ds).leakage == []  # no split, no train/val/test folders: nothing to leak into
    rest = np.array([i for i in range(27) if i not in (1, 25)])
    manual = Split(train=rest, val=np.array([25]), test=np.array([1]), seed=0, id="manual")
    leak = build_report(ds, manual)
    assert sorted(leak.leakage) == ["item0", "item1", "item2", "item25"]
    assert any("4 item(s) have an exact copy in another split" in w for w in leak.warnings)
    json.dumps(r.to_dict())


def test_report_fewer_than_two_classes():
    ds = _ds([4])
    assert any("at least 2 classes" in e for e in build_report(ds).errors)


def test_a_test_part_too_small_to_tell_results_apart_is_called_out():
    ds = _ds([20, 20])
    small = build_report(ds, make_split(ds, seed=0, test_fraction=0.2))  # 8 test items: 12.5 points each
    assert any("the test part has only 8 examples, so each one moves test accuracy by 12.5 points" in w
               for w in small.warnings)
    big = _ds([80, 80])
    assert not any("test part" in w for w in build_report(big, make_split(big, seed=0)).warnings)
    assert not any("test part" in w for w in build_report(ds).warnings)  # no split yet: nothing to judge
