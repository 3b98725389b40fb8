"""tlcore.experiments.comparison on a real run store with real artifact files and fixed numbers.

`make_comparison` is also used by the Compare page test.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests.support.comparisons import CLASSES, make_comparison
from tlcore.experiments import comparison as analysis
from tlcore.experiments import per_example
from tlcore.runs.store import EVERYONE, RunStore


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    store = RunStore(tmp_path / "runs.sqlite3")
    ids = make_comparison(store, tmp_path)
    other = store.create_run({"strategy": "scratch", "seed": 0}, group_id="cmp-other", name="x on y: scratch (seed 0)")
    records = analysis.comparison_records(store, "cmp-test", owner=EVERYONE)
    return store, records, ids, other, tmp_path


def _t(values):
    values = np.asarray(values)
    return stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))


def test_comparison_records_and_groups(setup):
    store, records, ids, other, _ = setup
    assert len(records) == 8 and other not in {r.id for r in records}
    order = [(r.config["seed"], r.config["strategy"]) for r in records]
    assert order[:3] == [(0, "scratch"), (0, "linear_probe"), (0, "finetune")]
    assert analysis.status_counts(records) == {"total": 8, "succeeded": 7, "active": 1, "unsuccessful": 0}
    groups = {g["group_id"]: g for g in analysis.recent_comparisons(store, owner=EVERYONE)}
    assert set(groups) == {"cmp-test", "cmp-other"}
    assert groups["cmp-test"]["name"] == "m on tiny" and groups["cmp-test"]["runs"] == 8
    assert groups["cmp-test"]["strategies"] == ["scratch", "linear_probe", "finetune"]


def test_curves_and_seed_bands(setup):
    store, records, ids, *_ = setup
    frame = analysis.curves_frame(store, records)
    assert list(frame.columns) == analysis.CURVE_COLUMNS
    assert len(frame) == 3 * 3 + 3 * 3 + 2 + 1  # the running run contributes its one epoch

    bands = analysis.seed_bands(frame, "epoch")
    assert list(bands["strategy"].unique()) == ["scratch", "linear_probe", "finetune"]
    row = bands[(bands.strategy == "scratch") & (bands.epoch == 2)].iloc[0]
    assert row["mean"] == pytest.approx(0.45) and row["n"] == 3
    assert row["low"] == pytest.approx(0.40) and row["high"] == pytest.approx(0.50)  # range over seeds
    # finetune epoch 1 has two seeds (finished + running), epoch 2 only one: low = high = mean
    ft = bands[bands.strategy == "finetune"].set_index("epoch")
    assert ft.loc[1, "n"] == 2 and ft.loc[1, "mean"] == pytest.approx(0.65)
    assert (ft.loc[1, "low"], ft.loc[1, "high"]) == (pytest.approx(0.6), pytest.approx(0.7))
    assert ft.loc[2, "low"] == ft.loc[2, "high"] == ft.loc[2, "mean"] == pytest.approx(0.80)
    lp3 = bands[(bands.strategy == "linear_probe") & (bands.epoch == 3)].iloc[0]
    assert lp3["high"] == pytest.approx(0.94)

    timed = analysis.seed_bands(frame, "elapsed")
    scratch = timed[timed.strategy == "scratch"]
    assert list(scratch["elapsed"]) == pytest.approx([1.5, 2.5, 3.5])  # mean elapsed of each epoch over seeds
    assert list(scratch["mean"]) == pytest.approx([0.35, 0.45, 0.55])
    loss = analysis.seed_bands(frame, "epoch", y="val_loss")
    assert loss[(loss.strategy == "scratch") & (loss.epoch == 1)].iloc[0]["low"] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        analysis.seed_bands(frame, "step")
    assert analysis.seed_bands(frame.iloc[0:0], "epoch").empty


def test_final_frame_and_verdict(setup):
    _, records, *_ = setup
    final = analysis.final_frame(records).set_index("strategy")
    assert list(final.index) == ["scratch", "linear_probe", "finetune"]
    low, high = _t([0.50, 0.55, 0.60])
    assert final.loc["scratch", "accuracy"] == pytest.approx(0.55)
    assert final.loc["scratch", "low"] == pytest.approx(low) and final.loc["scratch", "high"] == pytest.approx(high)
    assert final.loc["scratch", "n"] == 3 and final.loc["finetune", "n"] == 1
    assert math.isnan(final.loc["finetune", "low"]) and math.isnan(final.loc["finetune", "high"])
    assert final.loc["linear_probe", "macro_f1"] == pytest.approx(0.82)
    assert final.loc["linear_probe", "trainable_params"] == 3_843
    assert final.loc["scratch", "wall_seconds"] == pytest.approx(np.mean([10 * (1 + 7 % 3) + s for s in range(3)]))

    final = final.reset_index()
    assert analysis.best_transfer(final) == "linear_probe"
    text = analysis.verdict(final)
    assert text == ("Transfer (linear probe) reached 92% test accuracy vs 55% from scratch — 37 points better, "
                    "with non-overlapping 95% intervals.")
    one_seed = analysis.final_frame([r for r in records if r.config["seed"] == 0])
    assert "single seed" in analysis.verdict(one_seed)
    two_seeds = analysis.verdict(analysis.final_frame([r for r in records if r.config["seed"] in (0, 1)]))
    assert "overlap, so" in two_seeds and "With 2 seeds the intervals are very wide" in two_seeds
    only_scratch = analysis.final_frame([r for r in records if r.config["strategy"] == "scratch"])
    assert analysis.best_transfer(only_scratch) is None and "no transfer run" in analysis.verdict(only_scratch)
    assert analysis.verdict(analysis.final_frame([])) == "No run of this comparison has finished yet."


def test_per_class_gain_and_confusion(setup):
    _, records, ids, _, data_dir = setup
    gain = per_example.per_class_gain(records).set_index("class")
    assert gain.attrs["transfer"] == "linear_probe" and gain.attrs["missing"] == []
    assert list(gain.index) == CLASSES
    assert list(gain["scratch"]) == pytest.approx([2 / 3, 1 / 2, 5 / 6])
    assert list(gain["transfer"]) == pytest.approx([1, 1, 2 / 3])
    assert list(gain["gain"]) == pytest.approx([1 / 3, 1 / 2, -1 / 6])
    assert list(gain["support"]) == [2, 2, 2]
    ft = per_example.per_class_gain(records, "finetune").set_index("class")
    assert list(ft["transfer"]) == pytest.approx([1, 0.5, 0.5])

    conf = per_example.confusion_frame(records, "scratch")
    assert list(conf.index) == CLASSES and list(conf.columns) == CLASSES
    assert int(conf.to_numpy().sum()) == 18 and int(np.trace(conf.to_numpy())) == 3 + 4 + 5
    assert conf.loc["cat", "dog"] == 2  # cat items wrong twice (seed 0 item 1, seed 2 item 0), predicted dog

    # a deleted run's files: it is left out and reported, no exception
    import shutil
    shutil.rmtree(data_dir / "runs" / ids[("scratch", 0)])
    gain = per_example.per_class_gain(records)
    assert gain.attrs["missing"] == [ids[("scratch", 0)]]
    assert gain.set_index("class").loc["cat", "scratch"] == pytest.approx(0.75)


def test_disagreements(setup):
    _, records, ids, _, data_dir = setup
    diff = per_example.disagreements(records, "linear_probe")
    assert list(diff.columns) == per_example.DISAGREEMENT_COLUMNS
    wins = diff[diff.kind == "transfer wins"][["seed", "index"]].to_records(index=False).tolist()
    assert wins == [(0, 1), (0, 3), (1, 2), (1, 3), (2, 0)]
    losses = diff[diff.kind == "scratch wins"]
    assert losses[["seed", "index"]].to_records(index=False).tolist() == [(1, 4)]
    row = losses.iloc[0]
    assert (row["name"], row["true"], row["scratch_pred"], row["transfer_pred"]) == ("item4.png", "fox", "fox", "cat")
    assert list(diff["kind"]) == ["transfer wins"] * 5 + ["scratch wins"]
    # finetune only has seed 0 finished
    assert set(per_example.disagreements(records, "finetune")["seed"]) == {0}
    (data_dir / "runs" / ids[("linear_probe", 1)] / "predictions.json").unlink()
    diff = per_example.disagreements(records, "linear_probe")
    assert set(diff["seed"]) == {0, 2} and diff.attrs["missing"] == [ids[("linear_probe", 1)]]


def test_metrics_csv(setup):
    _, records, ids, *_ = setup
    rows = list(csv.DictReader(io.StringIO(analysis.metrics_csv(records))))
    assert len(rows) == 8
    assert list(rows[0]) == analysis.CSV_COLUMNS
    first = rows[0]
    assert (first["run_id"], first["strategy"], first["seed"], first["status"]) == (ids[("scratch", 0)], "scratch",
                                                                                     "0", "succeeded")
    assert float(first["test_accuracy"]) == 0.5 and first["n_test"] == "6" and first["epochs"] == "3"
    running = next(r for r in rows if r["status"] == "running")
    assert running["test_accuracy"] == "" and running["strategy"] == "finetune"
    assert pd.read_csv(io.StringIO(analysis.metrics_csv(records)))["trainable_params"].notna().sum() == 7


def test_analysis_does_not_import_streamlit_or_torch():
    import subprocess
    import sys
    code = ("import sys, tlcore.experiments.comparison; bad = [m for m in ('streamlit', 'torch') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
