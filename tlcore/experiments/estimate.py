"""A time estimate for runs before they start, so people know whether to wait or grab a coffee.

Throughputs were measured on this project's reference machine (2 CPU cores; see README and
`python -m bench.estimates`) and are scaled by image area or sequence length. A `Calibration` learnt from
this server's finished runs (`tlcore.experiments.calibration`) then scales the training-loop part by what
really happened here: the machine's speed and load, and how early runs stop.

Runs execute one after another in warm workers, so a batch of runs pays the worker start once, and the
frozen features (read by probe-like strategies, and by fine-tunes to warm-start their head) are computed once
per dataset, model and input size (then cached).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tlcore.core import strategies
from tlcore.core.errors import UserError
from tlcore.experiments.calibration import Calibration, from_store
from tlcore.models import get_spec
from tlcore.runs.store import RunRecord, RunStore
from tlcore.train import Prepared, cap_epochs
from tlcore.train.defaults import Resolved, inference_bf16
from tlcore.train.prepare import resolved_as

# (training examples/s, inference examples/s) at the reference size on 2 CPU cores. Training rates are those of
# the whole loop (augmentation, optimiser, checkpoints), not of a bare forward-backward pass: MobileNetV2's
# 30/s is what `python -m bench.estimates` measured for the demo's scratch runs (108 images × 15 epochs in
# about 57 s); a bare-loop figure (39/s) had made fresh-server estimates about 25 % short.
CPU_RATES = {
    ("torchvision", "image"): (30.0, 170.0),   # MobileNetV2 at 160 px, channels_last
    ("timm", "image"): (25.0, 130.0),          # EfficientNet-Lite0 at 160 px
    ("hf", "text"): (8.0, 30.0),               # MiniLM-L6 at 128 tokens
    ("glove", "text"): (2000.0, 5000.0),
}
REFERENCE = {"image": 160, "text": 128}
GPU_SPEEDUP = 30.0
# training under bfloat16 autocast on a CPU with bf16 instructions (`defaults._cpu_bf16`): measured 1.1-1.9x for
# MiniLM-L6, ViT-S and MobileNetV2 (`python -m bench.cpu_bf16`), not for GloVe or EfficientNet; calibration adjusts
CPU_BF16_SPEEDUP = 1.3
WORKER_START_S = 8.0  # importing torch, timm and transformers in a fresh worker process
FROZEN_RUN_S = 2.0  # a probe-like run on cached features: loading them, solving, testing


def rates(spec, size: int, device: str, bf16: bool = False) -> tuple[float, float]:
    """(training, inference) examples per second for a model spec at an input size (image side or tokens), in
    float32 or under bfloat16 autocast."""
    train_rate, infer_rate = CPU_RATES.get((spec.family, spec.modality), (20.0, 100.0))
    exponent = 2 if spec.modality == "image" else 1
    scale = (REFERENCE[spec.modality] / max(1, size)) ** exponent
    if device == "cuda":
        scale *= GPU_SPEEDUP
    elif bf16:
        scale *= CPU_BF16_SPEEDUP
    return train_rate * scale, infer_rate * scale


def _rates(prep: Prepared, r: Resolved) -> tuple[float, float]:
    return rates(prep.spec, r.image_size if prep.spec.modality == "image" else r.max_length, r.device, r.amp_bf16)


def loop_seconds(train_rate: float, infer_rate: float, strategy: str, epochs: int, n_train: int, n_val: int,
                 n_test: int) -> float:
    """A training-loop run without the worker start: its epochs, then the test set."""
    per_epoch = (n_train / train_rate + n_val / infer_rate) * strategies.get(strategy).cost
    return epochs * per_epoch + n_test / infer_rate


def predicted_as_planned(config: dict, resolved: dict, result: dict) -> float | None:
    """What the throughput model says a finished loop run should have taken, at its planned epochs (None when
    its saved settings are incomplete); `tlcore.experiments.calibration` compares it with the wall time."""
    try:
        spec = get_spec(config["model"])
        size = resolved["image_size"] if spec.modality == "image" else resolved["max_length"]
        train_rate, infer_rate = rates(spec, int(size), resolved["device"],
                                       bool(resolved.get("amp_bf16")))
        n_loop = int(result["n_train"]) + int(result.get("unlabelled_items") or 0)  # distillation's transfer set
        return loop_seconds(train_rate, infer_rate, config["strategy"], int(resolved["epochs"]), n_loop,
                            int(result["n_val"]), int(result["n_test"]))
    except (KeyError, TypeError, ValueError, UserError):
        return None


def calibration(store: RunStore) -> Calibration:
    """This server's calibration from its finished runs (see `tlcore.experiments.calibration`)."""
    return from_store(store, predicted_as_planned)


def estimate_seconds(prep: Prepared, strategy: str, *, n_train: int | None = None, max_steps: int | None = None,
                     features_cached: bool = False, calibrated: Calibration | None = None) -> float:
    """One run in a fresh worker; `n_train` overrides the prepared number of training examples (a study's
    smaller cells) and `max_steps` caps its epochs, `features_cached` drops the one-off feature pass of
    probe-like strategies, and `calibrated` scales the training loop by what this server measured."""
    return WORKER_START_S + _run_seconds(prep, strategy, n_train, max_steps, features_cached, calibrated)


def _run_seconds(prep: Prepared, strategy: str, n_train: int | None, max_steps: int | None, features_cached: bool,
                 calibrated: Calibration | None) -> float:
    r = resolved_as(prep, strategy)
    train_rate, infer_rate = _rates(prep, r)
    s = strategies.get(strategy)
    frozen_pass = 0.0
    if s.frozen_pass_for(prep.dataset.modality) and not features_cached:
        frozen_pass = len(prep.dataset) / _rates(prep, _frozen_pass_settings(prep, strategy))[1]
    if s.frozen_features:
        return FROZEN_RUN_S + frozen_pass
    n_train = len(prep.train_idx) if n_train is None else n_train
    if s.teacher:  # the loop also steps through the transfer set (training items the per-class limit left out)
        n_train += min(strategies.TRANSFER_LIMIT, len(prep.split.train) - n_train)
    seconds = loop_seconds(train_rate, infer_rate, strategy, cap_epochs(r, max_steps, n_train).epochs, n_train,
                           len(prep.val_idx), len(prep.split.test))
    seconds *= calibrated.factor(prep.spec.id, strategy) if calibrated else 1.0
    budget = prep.config.max_seconds  # training stops there (keeping its best epoch); testing still follows
    teacher = FROZEN_RUN_S if s.teacher else 0.0  # distillation's teacher: a linear probe solved in the run
    return frozen_pass + teacher + (min(seconds, budget + len(prep.split.test) / infer_rate) if budget else seconds)


def _frozen_pass_settings(prep: Prepared, strategy: str) -> Resolved:
    """The settings a strategy's frozen pass runs at: its own, or for distillation's teacher the linear probe's
    (the same cached features a linear-probe run reads), in the frozen pass's own precision."""
    r = resolved_as(prep, "linear_probe" if strategies.get(strategy).teacher else strategy)
    return dataclasses.replace(r, amp_bf16=inference_bf16(r))


def _feature_key(prep: Prepared, strategy: str) -> tuple[int, int] | None:
    """Which cached frozen features a strategy reads (they are cached per input size), or None."""
    if not strategies.get(strategy).frozen_pass_for(prep.dataset.modality):
        return None
    r = _frozen_pass_settings(prep, strategy)
    return r.image_size, r.max_length


def _queue_seconds(prep: Prepared, cells: list[tuple[str, int | None]], max_steps: int | None,
                   calibrated: Calibration | None) -> float:
    """(strategy, training examples) cells run one after another in one warm worker: one worker start, and
    each input size's frozen features computed once."""
    total, cached = WORKER_START_S, set()
    for strategy, n_train in cells:
        key = _feature_key(prep, strategy)
        total += _run_seconds(prep, strategy, n_train, max_steps, key in cached, calibrated)
        cached.add(key)
    return total


def estimate_comparison_seconds(prep: Prepared, strategy_ids: list[str], seeds: int,
                                calibrated: Calibration | None = None) -> float:
    return _queue_seconds(prep, [(s, None) for _ in range(seeds) for s in strategy_ids], None, calibrated)


def estimate_study_seconds(prep: Prepared, cells: list[tuple[str, int | None]], max_steps: int | None,
                           calibrated: Calibration | None = None) -> float:
    """A study's (strategy, examples per class) cells run one after another."""
    counts = np.bincount(prep.dataset.labels[prep.split.train], minlength=prep.dataset.num_classes)
    sized = [(s, int(counts.sum() if k is None else np.minimum(counts, k).sum())) for s, k in cells]
    return _queue_seconds(prep, sized, max_steps, calibrated)


def time_left(records: list[RunRecord], now: float) -> tuple[float, bool]:
    """(seconds, complete) until every run of a batch has finished: running runs by their own ETA, waiting
    ones by how long runs of the same strategy took in this batch (finished, or running: elapsed + ETA).
    `complete` is False when a waiting run's strategy has no such measure yet (the sum is then a lower bound)."""
    took: dict[str, list[float]] = {}
    for r in records:
        strategy = r.config.get("strategy", "")
        if r.status == "succeeded" and (r.result or {}).get("wall_seconds"):
            took.setdefault(strategy, []).append(float(r.result["wall_seconds"]))
        elif r.status == "running" and r.started and r.eta_s is not None:
            took.setdefault(strategy, []).append(now - r.started + r.eta_s)
    left, complete = 0.0, True
    for r in records:
        if r.status == "running" and r.eta_s is not None:
            left += r.eta_s
        elif r.status in ("queued", "starting", "running"):
            known = took.get(r.config.get("strategy", ""))
            complete = complete and bool(known)
            left += sum(known) / len(known) if known else 0.0
    return left, complete


def format_duration(seconds: float | None) -> str:
    """'about 40 s', 'about 3 min', 'about 1 h 10 min'."""
    if seconds is None or seconds != seconds:
        return "unknown"
    if seconds < 60:
        return f"about {max(5, int(round(seconds / 5) * 5))} s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
