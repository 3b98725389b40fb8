"""How each kind of strategy is solved (`Strategy.solver` in the registry): stepped through epochs by the
loop, a linear probe solved to convergence on cached features, or nearest neighbours with no training.

Every solver takes the same `Training` and returns a `Solution`: the fit's history and a function giving
class probabilities for dataset indices, so testing is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from tlcore.train.defaults import inference_bf16
from tlcore.train.inputs import FeatureInputs, Inputs
from tlcore.train.knn import solve_neighbours
from tlcore.train.loop import EpochProbe, EventSink, LoopSettings, fit, predict_probs
from tlcore.train.plans import Plan
from tlcore.train.prepare import Prepared
from tlcore.train.probe import fit_logistic_probe
from tlcore.train.results import Predict, Solution


@dataclass
class Training:
    prep: Prepared
    plan: Plan
    inputs: Inputs
    emit: EventSink
    should_stop: Callable[[], bool]
    epoch_probe: EpochProbe | None = None


def _module_predict(t: Training) -> Predict:
    r = t.prep.resolved

    def predict(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        probs, labels, order = predict_probs(t.plan.module, t.inputs, torch.as_tensor(indices),
                                             r.batch_size * 2, inference_bf16(r))
        return probs.numpy(), labels.numpy(), order.numpy()
    return predict


def solve_loop(t: Training) -> Solution:
    cfg, r = t.prep.config, t.prep.resolved
    settings = LoopSettings(epochs=r.epochs, batch_size=r.batch_size, weight_decay=cfg.weight_decay,
                            label_smoothing=cfg.label_smoothing, patience=cfg.patience, amp_bf16=r.amp_bf16,
                            max_seconds=cfg.max_seconds)
    result = fit(t.plan, t.inputs, torch.as_tensor(t.prep.loop_idx), torch.as_tensor(t.prep.val_idx), settings,
                 emit=t.emit, should_stop=t.should_stop, generator=torch.Generator().manual_seed(cfg.seed),
                 epoch_probe=t.epoch_probe)
    return Solution(result, _module_predict(t))


def solve_probe(t: Training) -> Solution:
    """Convex: solved to convergence rather than stepped through epochs."""
    assert isinstance(t.inputs, FeatureInputs)
    result = fit_logistic_probe(t.plan.module, t.inputs, torch.as_tensor(t.prep.train_idx),
                                torch.as_tensor(t.prep.val_idx), t.emit)
    return Solution(result, _module_predict(t))


def solve_knn(t: Training) -> Solution:
    assert isinstance(t.inputs, FeatureInputs)
    return solve_neighbours(t.inputs.features.float().cpu().numpy(), t.prep, t.emit)


SOLVERS: dict[str, Callable[[Training], Solution]] = {"loop": solve_loop, "probe": solve_probe, "knn": solve_knn}
