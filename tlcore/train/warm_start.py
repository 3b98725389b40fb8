"""LP-FT: fit the new last layer as a linear probe on the frozen pretrained features, then fine-tune.

A randomly initialised head sends large, arbitrary gradients into the pretrained body during the first steps,
distorting the features that made transfer worth it; starting from the probe's head avoids that and begins
training from a model that already works (Kumar et al., "Fine-Tuning can Distort Pretrained Features and
Underperform Out-of-Distribution", ICLR 2022). The frozen pass is the cached one the linear probe reads, at
the run's own input size, so a second run on the same data and model pays only the probe's solve.
"""

from __future__ import annotations

from typing import Any

import torch

from tlcore.models import TransferModel
from tlcore.train.inputs import FeatureInputs, Inputs
from tlcore.train.loop import EventSink, FitResult
from tlcore.train.prepare import Prepared
from tlcore.train.probe import fit_logistic_probe
from tlcore.train.run_inputs import feature_inputs

PHASE = "Fitting the new last layer on the pretrained features first"


def warm_start_head(prep: Prepared, model: TransferModel, inputs: Inputs, device: torch.device,
                    emit: EventSink) -> dict[str, Any]:
    """Set `model.head` to the linear probe on the frozen body's features; returns facts for the summary."""
    _, fitted = fit_probe_head(prep, model, inputs, device, emit, PHASE)
    row = fitted.history[0]
    return {"warm_start": {"val_acc": row["val_acc"], "train_acc": row["train_acc"],
                           "seconds": round(fitted.seconds, 3)}}


def fit_probe_head(prep: Prepared, model: TransferModel, inputs: Inputs, device: torch.device, emit: EventSink,
                   message: str) -> tuple[FeatureInputs, FitResult]:
    """Fit `model.head` as the linear probe on `model.body`'s cached frozen features of `inputs` (on
    `prep.train_idx`); only phase events reach `emit`. Also distillation's teacher (`tlcore.train.teacher`)."""
    def quiet(kind: str, payload: dict[str, Any]) -> None:  # the probe's own start/epoch events are not the run's
        if kind == "phase":
            emit(kind, payload)

    features = feature_inputs(prep, model, inputs, device, quiet)
    emit("phase", {"message": message, "done": 0, "total": 1})
    fitted = fit_logistic_probe(model.head, features, torch.as_tensor(prep.train_idx), torch.as_tensor(prep.val_idx),
                                quiet)
    return features, fitted
