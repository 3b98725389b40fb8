"""A comparison over several seeds splits the data once per seed: each split must be usable, or nothing is
queued (before: seed 0 passed the check and the other seeds failed in the workers)."""

from __future__ import annotations

import pytest

from tests.support.data import write_image
from tlcore.core.config import TrainConfig
from tlcore.core.errors import DataError
from tlcore.data import load_source, make_split
from tlcore.data.report import split_errors
from tlcore.experiments import submit
from tlcore.runs.store import EVERYONE, RunStore


def _mostly_copies(root):
    """Each class: four copies of one image and one other image. Whether a class keeps a training example
    depends on where the split puts its copies, so some seeds work and others do not."""
    for c, cls in enumerate(("cats", "dogs")):
        for i in range(4):
            write_image(root / cls / f"copy{i}.png", color=(200, 30 + c, 30))
        write_image(root / cls / "other.png", color=(30, 200, 30 + c))
    return root


def test_every_seed_of_a_comparison_is_checked_before_anything_is_queued(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    data = _mostly_copies(tmp_path / "data")
    ds = load_source(str(data))
    usable = [not split_errors(ds, make_split(ds, seed=s)) for s in range(40)]
    first = next(s for s in range(39) if usable[s] and not usable[s + 1])  # a usable seed, then an unusable one
    store = RunStore(tmp_path / "runs.sqlite3")
    base = TrainConfig(data=str(data), model="mobilenet_v2", strategy="knn", seed=first, image_size=32)
    with pytest.raises(DataError, match="cannot be compared fairly"):
        submit.submit_comparison(store, base, ["knn"], seeds=2)
    assert store.list_runs(owner=EVERYONE) == []


def test_only_fine_tuning_the_last_layers_keeps_the_stage_to_freeze_through(tmp_path):
    """The other strategies ignore it, so their runs are stored (and reused) as if it were not set."""
    base = TrainConfig(data="tux-photos", model="mobilenet_v2", freeze_through="features.8")
    planned = submit.planned_configs(RunStore(tmp_path / "runs.sqlite3"), base, ["scratch", "finetune_top"], 2, "")
    assert [(c.strategy, c.seed, c.freeze_through) for c in planned] == [
        ("scratch", 0, None), ("finetune_top", 0, "features.8"),
        ("scratch", 1, None), ("finetune_top", 1, "features.8")]
