"""One training run from a prepared config: model → strategy plan → solver → test evaluation.

This is what a worker process executes after `prepare` (see `tlcore.train.prepare`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tlcore.core import strategies
from tlcore.models import TransferModel, create
from tlcore.train.loop import EpochProbe, EventSink, FitResult
from tlcore.train.metrics import Evaluation, evaluate, prediction_rows
from tlcore.train.plans import Plan, build_plan, count_trainable
from tlcore.train.prepare import Prepared
from tlcore.train.run_inputs import build_inputs, feature_inputs
from tlcore.train.solvers import SOLVERS, Solution, Training
from tlcore.train.teacher import attach_teacher
from tlcore.train.warm_start import warm_start_head


@dataclass
class RunOutput:
    prepared: Prepared
    summary: dict[str, Any]
    history: list[dict]
    evaluation: Evaluation
    predictions: list[dict]
    model: TransferModel | None  # None when nothing was trained (the nearest-neighbour baseline)


def train_run(prep: Prepared, *, emit: EventSink, should_stop: Callable[[], bool],
              epoch_probe: EpochProbe | None = None) -> RunOutput:
    strategy = strategies.get(prep.config.strategy)
    seed_everything(prep.config.seed)
    device = torch.device(prep.resolved.device)
    model = create(prep.spec, prep.dataset.num_classes, "pretrained" if strategy.pretrained else "scratch")
    model.to(device)
    if prep.resolved.channels_last:
        model.to(memory_format=torch.channels_last)
    plan = build_plan(strategy.id, model, prep.resolved)
    inputs = build_inputs(prep, device, emit)
    if plan.uses_cached_features:
        inputs = feature_inputs(prep, model, inputs, device, emit)
    warm = warm_start_head(prep, model, inputs, device, emit) if strategy.warm_starts(prep.dataset.modality) else {}
    taught = attach_teacher(prep, plan, inputs, device, emit) if strategy.teacher else {}
    solution = SOLVERS[strategy.solver](Training(prep, plan, inputs, emit, should_stop, epoch_probe))
    evaluation, predictions = evaluate_test(prep, solution)
    summary = dict(summarize(prep, plan if solution.trained else None, solution.result, evaluation),
                   **(solution.extra or {}), **warm, **taught)
    emit("done", summary)
    return RunOutput(prep, summary, solution.result.history, evaluation, predictions,
                     model if solution.trained else None)


def evaluate_test(prep: Prepared, solution: Solution) -> tuple[Evaluation, list[dict]]:
    probs, labels, order = solution.predict(np.asarray(prep.split.test))
    ds = prep.dataset
    return evaluate(probs, labels, ds.classes), prediction_rows(probs, labels, order, ds.item_names, ds.classes)


def summarize(prep: Prepared, plan: Plan | None, result: FitResult, evaluation: Evaluation) -> dict[str, Any]:
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
        "trainable_params": count_trainable(plan) if plan else 0,
        "split_id": prep.split.id,
        "data_fingerprint": prep.dataset.fingerprint,
    }


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
