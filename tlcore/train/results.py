"""What a fit and a run give back, and how a run is tested and summarised: no torch, so a run that never needs it
(a linear probe on an exported body, `tlcore.train.frozen_run`) returns the same `RunOutput` as
`tlcore.train.run.train_run` without importing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tlcore.models import TransferModel
    from tlcore.train.metrics import Evaluation
    from tlcore.train.prepare import Prepared

EventSink = Callable[[str, dict[str, Any]], None]
# Class probabilities [N, C], the labels and the dataset indices, in the order evaluated.
Predict = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
WeightsWriter = Callable[[Path], None]  # writes a run's trained weights (safetensors) to the path given


class Cancelled(Exception):
    """Raised inside the loop when the cancel flag is set; the run ends as 'cancelled'."""


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    out_of_time: bool = False  # the budget `LoopSettings.max_seconds` ended training
    seconds: float = 0.0


@dataclass
class Solution:
    """What a solver gives back (`tlcore.train.solvers`): the fit's history and a function giving class
    probabilities for dataset indices, so testing is the same for every solver."""

    result: FitResult
    predict: Predict
    trained: bool = True  # False: nothing was optimised and no weights are worth saving
    extra: dict | None = None  # solver facts for the run's summary (e.g. the neighbours' k)


@dataclass
class RunOutput:
    prepared: Prepared
    summary: dict[str, Any]
    history: list[dict]
    evaluation: Evaluation
    predictions: list[dict]
    model: TransferModel | None  # None when no PyTorch model was built or nothing was trained
    # How to save the trained weights when no PyTorch model was built (the probe on an exported body): the
    # same file `model` would give. None with `model` None: nothing was trained (the nearest-neighbour baseline).
    weights: WeightsWriter | None = None


def evaluate_test(prep: Prepared, predict: Predict) -> tuple[Evaluation, list[dict]]:
    """A run's test evaluation and per-example rows, from its solution's `predict` on the test indices."""
    from tlcore.train.metrics import evaluate, prediction_rows  # scikit-learn: only once a run is tested

    probs, labels, order = predict(np.asarray(prep.split.test))
    ds = prep.dataset
    return evaluate(probs, labels, ds.classes), prediction_rows(probs, labels, order, ds.item_names, ds.classes)


def phase(message: str, done: int, total: int) -> dict[str, Any]:
    """A `phase` event's payload: work before training, with its progress."""
    return {"message": message, "done": done, "total": total}


def summarize(prep: Prepared, trainable_params: int, result: FitResult, evaluation: Evaluation) -> dict[str, Any]:
    return {
        "test_accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "ece": evaluation.ece,
        "n_train": int(len(prep.train_idx)),
        "n_val": int(len(prep.val_idx)),
        "n_test": int(len(prep.split.test)),
        "num_classes": prep.dataset.num_classes,
        "epochs_capped": prep.resolved.capped,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "out_of_time": result.out_of_time,
        "train_seconds": round(result.seconds, 3),
        "trainable_params": trainable_params,
        "split_id": prep.split.id,
        "data_fingerprint": prep.dataset.fingerprint,
    }
