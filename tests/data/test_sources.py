"""Folders and zips of class folders: unwrapping, given train/val/test folders, text folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data import make_class_tree, zip_tree
from tlcore.data import DataError, build_report, load_source, make_split
from tlcore.data.dataset import content_hash


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))


def test_zip_with_wrapping_folder(tmp_path):
    src = make_class_tree(tmp_path / "src", {"dogs": 3, "cats": 2}, prefix="myset")
    (src / "myset" / ".hidden.png").write_bytes(b"x")
    (src / "myset" / "cats" / "Thumbs.db").write_bytes(b"x")
    ds = load_source(zip_tree(src, tmp_path / "myset.zip"))
    assert ds.name == "myset" and ds.modality == "image"
    assert ds.classes == ["cats", "dogs"] and ds.class_counts() == {"cats": 2, "dogs": 3}
    assert ds.item_names[0] == "cats/0.png" and all(isinstance(p, Path) and p.is_absolute() for p in ds.items)
    assert ds.item_hashes[0] == content_hash(ds.items[0].read_bytes())
    assert ds.given_split is None and ds.skipped == []


def test_directory_with_nested_subfolders_and_stray_files(tmp_path):
    root = make_class_tree(tmp_path / "d", {"a": 2, "b": 2})
    make_class_tree(root / "a", {"sub": 1}, seed=5)  # a/sub/0.png still belongs to class a
    (root / "README.md").write_text("hi")
    ds = load_source(root)
    assert ds.class_counts() == {"a": 3, "b": 2} and "a/sub/0.png" in ds.item_names
    assert [(s.name, s.reason) for s in ds.skipped] == [("README.md", "not inside a class folder")]


def test_given_train_test_folders(tmp_path):
    root = tmp_path / "g"
    make_class_tree(root, {"x": 4, "y": 4}, prefix="train", seed=1)
    make_class_tree(root, {"x": 2, "y": 2}, prefix="test", seed=2)
    ds = load_source(zip_tree(root, tmp_path / "g.zip", arc_prefix="wrapper/"))
    assert ds.given_split.count("train") == 8 and ds.given_split.count("test") == 4
    assert ds.item_names[0].startswith(("train/", "test/"))
    split = make_split(ds, seed=3)
    test_names = {ds.item_names[i] for i in split.test}
    assert test_names == {n for n, s in zip(ds.item_names, ds.given_split) if s == "test"}
    assert len(split.val) >= 2 and set(split.val) <= {i for i, s in enumerate(ds.given_split) if s == "train"}


def test_given_split_leakage_is_flagged(tmp_path):
    root = tmp_path / "g"
    make_class_tree(root, {"x": 3, "y": 3}, prefix="train", seed=1)
    make_class_tree(root, {"x": 2, "y": 2}, prefix="val", seed=2)
    (root / "val" / "x" / "copy.png").write_bytes((root / "train" / "x" / "0.png").read_bytes())
    report = build_report(load_source(root))
    assert sorted(report.leakage) == ["train/x/0.png", "val/x/copy.png"]
    assert any("exact copy in another split" in w for w in report.warnings)


def test_one_class_only(tmp_path):
    root = make_class_tree(tmp_path / "one", {"cats": 3})
    with pytest.raises(DataError, match="only one class"):
        load_source(root)


def test_no_images(tmp_path):
    root = tmp_path / "e"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.doc").write_bytes(b"x")
    with pytest.raises(DataError, match="no usable images"):
        load_source(root)


def test_text_folder(tmp_path):
    for cls, words in {"spam": ["buy now", "cheap pills"], "ham": ["hello mum", "meeting at 3"]}.items():
        for i, w in enumerate(words):
            (tmp_path / "t" / cls).mkdir(parents=True, exist_ok=True)
            (tmp_path / "t" / cls / f"{i}.txt").write_bytes(w.encode("latin-1"))
    ds = load_source(tmp_path / "t")
    assert ds.modality == "text" and ds.classes == ["ham", "spam"] and ds.items[0] == "hello mum"
