"""Plans: for the strategies the training loop steps through, which parameters train, at which rate, and when.

Each loop strategy of the registry (`tlcore.core.strategies`) has one plan function here, registered under
its id with `@plan_for`. The loop itself is the same for every strategy; a `Plan` is all that differs. The
linear probe and nearest neighbours are not stepped through epochs: their solvers (`tlcore.train.probe`,
`tlcore.train.knn`) work on cached frozen features, and their plan only says which module is evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from tlcore.core import strategies
from tlcore.models import TransferModel, apply_lora
from tlcore.train.defaults import Resolved
from tlcore.train.depths import parameters_through
from tlcore.train.distill import SoftTargets


@dataclass
class Plan:
    """What the loop optimises.

    `module` is what the loop calls on a batch: the whole model, or only the head when the inputs are cached
    features. `frozen_body_epochs` > 0 keeps the body frozen (and its batch-norm statistics fixed) for that
    many epochs before it joins training (gradual unfreezing). `soft_targets` (distillation, set once its
    teacher is fitted) turns the loss into the distillation loss.
    """

    strategy: str
    module: nn.Module
    param_groups: list[dict]
    uses_cached_features: bool = False
    frozen_body_epochs: int = 0
    body: nn.Module | None = None
    soft_targets: SoftTargets | None = None


PlanFunction = Callable[[TransferModel, Resolved], Plan]
TOP_FRACTION = 1 / 3  # "the last layers": this share of the body's parameter tensors trains
_PLANS: dict[str, PlanFunction] = {}


def plan_for(strategy_id: str) -> Callable[[PlanFunction], PlanFunction]:
    """Register the plan function of a registry strategy."""
    strategies.get(strategy_id)  # fails at import for an id the registry does not declare

    def register(function: PlanFunction) -> PlanFunction:
        _PLANS[strategy_id] = function
        return function
    return register


def build_plan(strategy_id: str, model: TransferModel, resolved: Resolved) -> Plan:
    return _PLANS[strategy_id](model, resolved)


def has_plan(strategy_id: str) -> bool:
    return strategy_id in _PLANS


def _head_only(strategy_id: str, model: TransferModel, resolved: Resolved) -> Plan:
    set_trainable(model.body, False)
    return Plan(strategy_id, model.head, [{"params": list(model.head.parameters()), "lr": resolved.lr}],
                uses_cached_features=True, body=model.body)


def _body_and_head(model: TransferModel, resolved: Resolved) -> list[dict]:
    return [{"params": [p for p in model.body.parameters() if p.requires_grad], "lr": resolved.body_lr},
            {"params": list(model.head.parameters()), "lr": resolved.lr}]


def _every_layer(strategy_id: str, model: TransferModel, resolved: Resolved) -> Plan:
    return Plan(strategy_id, model, [{"params": list(model.parameters()), "lr": resolved.lr}])


@plan_for("scratch")
def scratch(model: TransferModel, resolved: Resolved) -> Plan:
    return _every_layer("scratch", model, resolved)


@plan_for("distill")
def distill(model: TransferModel, resolved: Resolved) -> Plan:
    """The scratch network and rates; the teacher's answers are attached by `tlcore.train.teacher`."""
    return _every_layer("distill", model, resolved)


@plan_for("linear_probe")
def linear_probe(model: TransferModel, resolved: Resolved) -> Plan:
    return _head_only("linear_probe", model, resolved)


@plan_for("knn")
def nearest_neighbours(model: TransferModel, resolved: Resolved) -> Plan:
    return _head_only("knn", model, resolved)


@plan_for("finetune")
def finetune(model: TransferModel, resolved: Resolved) -> Plan:
    return Plan("finetune", model, _body_and_head(model, resolved), body=model.body)


@plan_for("finetune_top")
def finetune_top(model: TransferModel, resolved: Resolved) -> Plan:
    """The body's first parameter tensors (in forward order) stay frozen, and their layers in eval mode so
    batch norm keeps its pretrained statistics: those through the stage `freeze_through` names (the layer
    advice's suggestion), else the first two thirds; the rest and the head train."""
    params = list(model.body.parameters())
    if resolved.freeze_through:
        set_trainable_tensors(parameters_through(model.body, resolved.freeze_through, model.spec.title), False)
    else:
        set_trainable_tensors(params[: int(len(params) * (1 - TOP_FRACTION))], False)
    return Plan("finetune_top", model, _body_and_head(model, resolved), body=model.body)


@plan_for("lora")
def lora(model: TransferModel, resolved: Resolved) -> Plan:
    model = apply_lora(model)  # peft freezes the body except the adapters
    return Plan("lora", model, _body_and_head(model, resolved), body=model.body)


@plan_for("gradual")
def gradual(model: TransferModel, resolved: Resolved) -> Plan:
    frozen = max(1, resolved.epochs // 3) if resolved.epochs >= 2 else 0
    groups = _body_and_head(model, resolved)  # the whole body, before it is frozen for the first epochs
    set_trainable(model.body, False)
    return Plan("gradual", model, groups, frozen_body_epochs=frozen, body=model.body)


def set_trainable(module: nn.Module, trainable: bool) -> None:
    set_trainable_tensors(module.parameters(), trainable)


def set_trainable_tensors(params, trainable: bool) -> None:
    for p in params:
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
        for layer in plan.body.modules():  # a layer none of whose weights learn keeps its pretrained behaviour
            params = list(layer.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                layer.eval()
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
