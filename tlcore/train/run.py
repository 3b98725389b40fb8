"""One training run from a prepared config: model → strategy plan → solver → test evaluation.

This is what a worker process executes after `prepare` (see `tlcore.train.prepare`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch

from tlcore.core import strategies
from tlcore.models import create
from tlcore.train.device import assigned_threads
from tlcore.train.loop import EpochProbe
from tlcore.train.plans import build_plan, count_trainable
from tlcore.train.prepare import Prepared
from tlcore.train.results import EventSink, RunOutput, evaluate_test, summarize
from tlcore.train.run_inputs import build_inputs, feature_inputs
from tlcore.train.solvers import SOLVERS, Training
from tlcore.train.teacher import attach_teacher
from tlcore.train.warm_start import warm_start_head


def train_run(prep: Prepared, *, emit: EventSink, should_stop: Callable[[], bool],
              epoch_probe: EpochProbe | None = None) -> RunOutput:
    strategy = strategies.get(prep.config.strategy)
    if (threads := assigned_threads()) is not None:  # a worker's budget: the CPUs it may use
        torch.set_num_threads(threads)
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
    evaluation, predictions = evaluate_test(prep, solution.predict)
    summary = dict(summarize(prep, count_trainable(plan) if solution.trained else 0, solution.result, evaluation),
                   **(solution.extra or {}), **warm, **taught)
    emit("done", summary)
    return RunOutput(prep, summary, solution.result.history, evaluation, predictions,
                     model if solution.trained else None)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
