"""Our side: the engine in this process (`prepare` + `train_run`), as a worker runs a run that builds its PyTorch
model. (A worker's linear probe on a machine that has exported the model's pretrained body goes through
`tlcore.train.frozen_run` instead, which computes the same features, fit and results without torch,
`tests/train/test_frozen_run.py`; this side times `train_run`, and `python -m bench --cases cli` the worker's path.)

The caches (decoded images, frozen features) live in a fresh TLAB_DATA_DIR per bench run, so decoding and
the feature pass are inside the measured time. After each epoch the bench evaluates the test set through
the loop's `epoch_probe` hook, with the stopwatch paused, as it does for the reference loops.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.measure import Side, Stopwatch
from tlcore.core.config import TrainConfig
from tlcore.data import Dataset
from tlcore.train import prepare, train_run
from tlcore.train.defaults import inference_bf16
from tlcore.train.inputs import Inputs
from tlcore.train.loop import predict_probs


def run_ours(ds: Dataset, config: TrainConfig, label: str | None = None) -> Side:
    watch = Stopwatch()
    prep = prepare(config, dataset=ds)
    test_idx = torch.as_tensor(prep.split.test)
    side = Side(label or f"Transfer Lab ({config.strategy})")
    marks: dict[str, float] = {}

    def emit(kind: str, payload: dict[str, Any]) -> None:
        if kind == "phase" and payload.get("message", "").startswith("Computing pretrained features"):
            marks.setdefault("features_start", watch.now())
        elif kind == "start":
            side.train_start_s = watch.now()

    def probe(module: torch.nn.Module, inputs: Inputs) -> dict[str, float]:
        side.extra["data_device"] = _data_device(inputs)
        with watch.pause():
            was_training = module.training
            probs, labels, _ = predict_probs(module, inputs, test_idx, prep.resolved.batch_size * 2,
                                             inference_bf16(prep.resolved))
            module.train(was_training)
        side.epochs.append((watch.now(), len(prep.train_idx), exact_accuracy(probs, labels)))
        return {}

    out = train_run(prep, emit=emit, should_stop=lambda: False, epoch_probe=probe)
    side.wall_s = watch.now()
    side.final_accuracy = float(out.summary["test_accuracy"])
    if not side.epochs:  # solved without epochs (the linear probe): its only point is the end of the run
        side.epochs.append((side.wall_s, len(prep.train_idx), side.final_accuracy))
        side.solved = True
    r = prep.resolved
    side.extra = {**side.extra, "strategy": config.strategy, "batch_size": r.batch_size, "image_size": r.image_size,
                  "max_length": r.max_length, "epochs_run": out.summary["epochs"],
                  "best_epoch": out.summary["best_epoch"], "device": r.device, "bf16": r.amp_bf16,
                  "channels_last": r.channels_last}
    if "features_start" in marks:
        seconds = side.train_start_s - marks["features_start"]
        side.extra["feature_pass_s"] = round(seconds, 2)
        side.extra["feature_pass_per_s"] = round(len(ds) / seconds, 1) if seconds > 0 else None
    return side


def exact_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Correct over total as a Python float, as the reference loops count it: a float32 mean misses an exact tie
    with the reference's accuracy (27/34 is 0.79411763 in float32 against 0.7941176470588235)."""
    return int((probs.argmax(1) == labels).sum()) / max(len(labels), 1)


def _data_device(inputs: Inputs) -> str | None:
    """Where the tensors each training step indexes live (the whole decoded dataset, or cached features)."""
    data = getattr(inputs, "images", getattr(inputs, "features", None))
    return None if data is None else data.device.type
