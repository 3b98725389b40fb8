"""A split is computed once per data, seed and fractions and then read from the data directory: the same split,
with no scikit-learn import (what makes a warm `train` check fast), and never another data's or setting's split."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.paths import REPO
from tlcore.data import make_split
from tlcore.data.split_cache import split_key

SPLIT_IN_A_FRESH_PROCESS = """
import json, sys
import numpy as np
from tlcore.data import Dataset, make_split
labels = np.repeat(np.arange(3), [40, 25, 9])
ds = Dataset(name="t", modality="text", items=[f"t{i}" for i in range(len(labels))], labels=labels,
             classes=["a", "b", "c"], item_names=[f"i{i}" for i in range(len(labels))],
             item_hashes=[f"h{i}" for i in range(len(labels))])
split = make_split(ds, seed=3)
print(json.dumps({"split": split.to_dict(), "sklearn": "sklearn" in sys.modules}))
"""


def _split_in_a_fresh_process(data_dir) -> dict:
    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", SPLIT_IN_A_FRESH_PROCESS], env=env, cwd=REPO, capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def test_the_second_split_of_the_same_data_is_read_not_computed(tmp_path):
    first, second = _split_in_a_fresh_process(tmp_path), _split_in_a_fresh_process(tmp_path)
    assert first["sklearn"] and not second["sklearn"]
    assert first["split"] == second["split"]
    for stored in (tmp_path / "cache" / "splits").glob("*.json"):
        stored.write_text("{not json")  # damaged: computed again, the same
    assert _split_in_a_fresh_process(tmp_path) == first


def test_every_input_of_a_split_is_in_its_key():
    key = split_key("data", None, 0, (0.15, 0.2))
    others = [split_key("other data", None, 0, (0.15, 0.2)), split_key("data", ["train", "test"], 0, (0.15, 0.2)),
              split_key("data", None, 1, (0.15, 0.2)), split_key("data", None, 0, (0.1, 0.2)),
              split_key("data", None, 0, (0.15, 0.25))]
    assert len({key, *others}) == 6 and split_key("data", None, 0, (0.15, 0.2)) == key


def test_a_cached_split_equals_the_computed_one(tmp_path, monkeypatch):
    from tests.data.test_split_report import _ds

    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    ds = _ds([30, 12, 5], dup_pairs=[(0, 40)])
    computed = make_split(ds, seed=7, val_fraction=0.2, test_fraction=0.25)
    assert list((tmp_path / "cache" / "splits").glob("*.json"))
    assert make_split(ds, seed=7, val_fraction=0.2, test_fraction=0.25) == computed


def test_splits_share_the_cache_budget_and_an_evicted_one_is_computed_again(tmp_path, monkeypatch):
    """Splits are cache files under `max_cache_mb` like decoded images and features, so a server that sees many
    uploads does not keep one file per data and seed for ever."""
    from tests.data.test_split_report import _ds

    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TLAB_MAX_CACHE_MB", "0")  # every new cache file evicts all the others
    ds = _ds([30, 12, 5], dup_pairs=[])
    folder = tmp_path / "cache" / "splits"
    first = make_split(ds, seed=7)
    [first_file] = folder.glob("*.json")
    make_split(ds, seed=8)
    [second_file] = folder.glob("*.json")
    assert second_file != first_file  # the first was evicted, the one just written kept
    assert make_split(ds, seed=7) == first
