"""Time estimates price each strategy at the input size it will really run at."""

from __future__ import annotations

import json

import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.experiments import submit
from tlcore.experiments.calibration import Calibration
from tlcore.experiments.estimate import (
    CPU_BF16_SPEEDUP,
    FROZEN_RUN_S,
    WORKER_START_S,
    calibration,
    estimate_comparison_seconds,
    estimate_seconds,
    predicted_as_planned,
    time_left,
)
from tlcore.runs.paths import run_dir
from tlcore.runs.store import RunRecord, RunStore
from tlcore.train.device import cpu_bf16_native


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU every strategy runs at the model's own size")
def test_a_feature_pass_is_priced_at_the_size_it_runs_at():
    """Prepared for scratch (160 px on a CPU), a linear probe's feature pass runs at 224 px: (224/160)² dearer."""
    scratch = submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="scratch"))
    probe = submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="linear_probe"))
    assert (scratch.resolved.image_size, probe.resolved.image_size) == (160, 224)
    from_scratch_prep = estimate_seconds(scratch, "linear_probe") - WORKER_START_S
    from_probe_prep = estimate_seconds(probe, "linear_probe") - WORKER_START_S
    assert from_scratch_prep == pytest.approx(from_probe_prep)
    assert estimate_seconds(scratch, "linear_probe", features_cached=True) == WORKER_START_S + FROZEN_RUN_S


@pytest.mark.skipif(torch.cuda.is_available() or not cpu_bf16_native(), reason="a CPU with bfloat16 instructions")
def test_a_transformer_fine_tune_is_priced_at_the_precision_it_trains_in(tmp_path, monkeypatch):
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "\n".join(f"{w} film {i},{w}" for i in range(30) for w in ("good", "bad")))
    config = TrainConfig(data=str(data), model="minilm-l6", strategy="finetune")
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    bf16 = submit.check(config)
    monkeypatch.setenv("TLAB_CPU_BF16", "0")
    fp32 = submit.check(config)
    assert bf16.resolved.amp_bf16 and not fp32.resolved.amp_bf16
    loop = [estimate_seconds(prep, "finetune") - WORKER_START_S for prep in (fp32, bf16)]
    assert loop[0] / loop[1] == pytest.approx(CPU_BF16_SPEEDUP)


@pytest.fixture(scope="module")
def demo_prep():
    return submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="scratch"))


def test_a_comparison_starts_one_worker_and_computes_frozen_features_once(demo_prep):
    one_each = estimate_comparison_seconds(demo_prep, ["scratch", "linear_probe"], 1)
    three_each = estimate_comparison_seconds(demo_prep, ["scratch", "linear_probe"], 3)
    scratch = estimate_seconds(demo_prep, "scratch") - WORKER_START_S
    # two more seeds: two more scratch runs and two probes on cached features, no more worker starts
    assert three_each - one_each == pytest.approx(2 * scratch + 2 * FROZEN_RUN_S)


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU every strategy runs at the model's own size")
def test_a_fine_tune_pays_its_warm_start_pass_once_at_its_own_size(demo_prep):
    """Fine-tunes fit their head on frozen features first: cached at 160 px, apart from the probe's 224 px."""
    plain = estimate_seconds(demo_prep, "finetune", features_cached=True)
    warm = estimate_seconds(demo_prep, "finetune")
    assert warm - plain == pytest.approx(len(demo_prep.dataset) / 170.0)  # MobileNetV2 inference at 160 px
    one_each = estimate_comparison_seconds(demo_prep, ["linear_probe", "finetune"], 1)
    two_each = estimate_comparison_seconds(demo_prep, ["linear_probe", "finetune"], 2)
    assert two_each - one_each == pytest.approx(FROZEN_RUN_S + plain - WORKER_START_S)
    probe_pass = estimate_seconds(demo_prep, "linear_probe") - WORKER_START_S - FROZEN_RUN_S
    assert one_each == pytest.approx(WORKER_START_S + FROZEN_RUN_S + probe_pass + warm - WORKER_START_S)


def _finished_run(store: RunStore, strategy: str, wall: float, epochs_planned: int = 15) -> str:
    run_id = store.create_run({"model": "mobilenet_v2", "strategy": strategy, "seed": 0, "data": "tux-photos"})
    store.claim(run_id)
    result = {"wall_seconds": wall, "n_train": 100, "n_val": 20, "n_test": 40, "epochs": 6}
    assert store.finish(run_id, "succeeded", result=result)
    run_dir(run_id).mkdir(parents=True, exist_ok=True)
    run_dir(run_id).joinpath("config.json").write_text(json.dumps(
        {"resolved": {"image_size": 160, "max_length": None, "device": "cpu", "epochs": epochs_planned}}))
    return run_id


def test_finished_runs_calibrate_the_training_loop_estimate(tmp_path, monkeypatch, demo_prep):
    """Runs that took half of what the throughput model predicted (as planned) halve the next estimate of that
    model and strategy; other strategies of the model use the model's ratio; unknown models keep 1.0."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    store = RunStore()
    predicted = predicted_as_planned({"model": "mobilenet_v2", "strategy": "scratch"},
                                     {"image_size": 160, "device": "cpu", "epochs": 15},
                                     {"n_train": 100, "n_val": 20, "n_test": 40})
    assert predicted and predicted > 0
    for wall in (0.4, 0.5, 0.6):
        _finished_run(store, "scratch", wall * predicted)
    _finished_run(store, "linear_probe", 1.0)  # not a training loop: not part of the ratio
    learnt = calibration(store)
    assert learnt.factor("mobilenet_v2", "scratch") == pytest.approx(0.5)
    assert learnt.factor("mobilenet_v2", "finetune") == pytest.approx(0.5) and learnt.runs == 3
    assert learnt.factor("resnet50", "scratch") == 1.0
    plain = estimate_seconds(demo_prep, "scratch") - WORKER_START_S
    assert estimate_seconds(demo_prep, "scratch", calibrated=learnt) - WORKER_START_S == pytest.approx(plain / 2)
    assert calibration(RunStore(tmp_path / "empty.sqlite3")) == Calibration()


def _record(status: str, strategy: str, *, wall=None, started=None, eta=None) -> RunRecord:
    return RunRecord(id=f"{strategy}-{status}", name="", group_id="g", owner="", status=status,
                     config={"strategy": strategy}, created=0.0, started=started, finished=None, pid=None,
                     cancel_requested=False, step=0, total_steps=0, epoch=0, eta_s=eta, message="", error=None,
                     result={"wall_seconds": wall} if wall else None)


def test_time_left_for_a_whole_comparison():
    now = 1000.0
    records = [_record("succeeded", "scratch", wall=60), _record("running", "linear_probe", started=now - 10, eta=5),
               _record("queued", "scratch"), _record("queued", "linear_probe")]
    assert time_left(records, now) == (5 + 60 + 15, True)  # its ETA, a scratch run's 60 s, a probe's 10 + 5 s
    unknown = records + [_record("queued", "finetune")]
    assert time_left(unknown, now) == (80, False)  # no fine-tune has run yet: a lower bound
    assert time_left(records[:1], now) == (0, True)


def test_distillation_pays_for_its_teacher_and_its_transfer_set(demo_prep):
    """At 10 per class the student also steps through the unused training items, and its teacher's frozen
    pass costs what a linear probe's does (and is shared with one in the same comparison)."""
    prep = submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="scratch", per_class=10))
    scratch, distill = (estimate_seconds(prep, s) - WORKER_START_S for s in ("scratch", "distill"))
    probe_pass = estimate_seconds(prep, "linear_probe") - WORKER_START_S
    teacher_cached = estimate_seconds(prep, "distill", features_cached=True) - WORKER_START_S
    assert distill == pytest.approx(teacher_cached + probe_pass - FROZEN_RUN_S)  # + the frozen pass
    assert teacher_cached > scratch + FROZEN_RUN_S  # more items per epoch than the 50 labelled ones
    with_probe = estimate_comparison_seconds(prep, ["scratch", "linear_probe", "distill"], 1)
    assert with_probe == pytest.approx(WORKER_START_S + scratch + probe_pass + teacher_cached)
