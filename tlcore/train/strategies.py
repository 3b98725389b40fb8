"""Strategies decide three things: which parameters train, at which learning rate, and when.

The loop itself is the same for every strategy; a `Plan` is all that differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from tlcore.models import TransferModel
from tlcore.train.defaults import Resolved


@dataclass
class Plan:
    """What the loop optimises.

    `module` is what the loop calls on a batch: the whole model, or only the head for the linear probe
    (whose inputs are then cached features). `frozen_body_epochs` > 0 keeps the body frozen (and its
    batch-norm statistics fixed) for that many epochs before it joins training (gradual unfreezing).
    """

    strategy: str
    module: nn.Module
    param_groups: list[dict]
    uses_cached_features: bool = False
    frozen_body_epochs: int = 0
    body: nn.Module | None = None


def build_plan(strategy: str, model: TransferModel, resolved: Resolved) -> Plan:
    if strategy == "scratch":
        return Plan(strategy, model, [{"params": list(model.parameters()), "lr": resolved.lr}])
    if strategy == "linear_probe":
        set_trainable(model.body, False)
        return Plan(strategy, model.head, [{"params": list(model.head.parameters()), "lr": resolved.lr}],
                    uses_cached_features=True, body=model.body)
    groups = [
        {"params": [p for p in model.body.parameters() if p.requires_grad], "lr": resolved.body_lr},
        {"params": list(model.head.parameters()), "lr": resolved.lr},
    ]
    if strategy in ("finetune", "lora"):
        return Plan(strategy, model, groups, body=model.body)
    if strategy == "gradual":
        frozen = max(1, resolved.epochs // 3) if resolved.epochs >= 2 else 0
        set_trainable(model.body, False)
        return Plan(strategy, model, groups, frozen_body_epochs=frozen, body=model.body)
    raise ValueError(f"unknown strategy {strategy}")


def set_trainable(module: nn.Module, trainable: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(trainable)


def count_trainable(plan: Plan) -> int:
    """Parameters the optimiser updates over the run (for gradual: after unfreezing)."""
    return sum(p.numel() for group in plan.param_groups for p in group["params"])


def set_train_mode(plan: Plan, epoch: int) -> None:
    """Train mode for what learns this epoch; a frozen body stays in eval mode (fixed BN statistics)."""
    plan.module.train()
    if plan.body is not None:
        if plan.frozen_body_epochs and epoch == plan.frozen_body_epochs:
            set_trainable(plan.body, True)
        if plan.frozen_body_epochs > epoch:
            plan.body.eval()
    average_batchnorm_over_epoch(plan.module)


def average_batchnorm_over_epoch(module: nn.Module) -> None:
    """Make training batch-norm layers keep the plain average of this epoch's batch statistics.

    With small data an epoch is a handful of steps, so the default exponential average (momentum 0.1)
    still mostly holds its initial values when we validate: a from-scratch network then predicts one class
    in eval mode and looks far worse than it is. Averaging the current epoch's batches is exact and free.
    """
    for layer in module.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm) and layer.training and layer.track_running_stats:
            layer.reset_running_stats()
            layer.momentum = None
