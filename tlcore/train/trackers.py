"""Small objects the training loop consults after each epoch: which epoch is best (and its weights), whether
to stop early, and whether training diverged. Each does one job, so the loop reads as a list of steps."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from tlcore.core.errors import UserError


class Diverged(UserError):
    """The loss became NaN or infinite: nothing trustworthy can be saved from this run."""


def check_finite(train_loss: float) -> None:
    if not math.isfinite(train_loss):
        raise Diverged("Training diverged (the loss became infinite or NaN); lower the learning rate "
                       "(--lr) and start the run again.")


class BestWeights:
    """Remembers the epoch with the best validation accuracy (ties: lower validation loss) and a copy of its
    weights; without validation examples, the last epoch counts as best."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.state: dict[str, torch.Tensor] | None = None
        self.epoch = 0

    def update(self, module: torch.nn.Module, row: dict[str, Any], has_validation: bool) -> bool:
        """Record the epoch of `row` if it is the best so far; returns whether it was."""
        if has_validation and math.isfinite(row["val_loss"]):
            key: tuple = (row["val_acc"], -row["val_loss"])
        else:
            key = (row["epoch"],)
        if self.key is not None and key <= self.key:
            return False
        self.key, self.epoch = key, row["epoch"]
        self.state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        return True

    def restore(self, module: torch.nn.Module) -> None:
        if self.state is not None:
            module.load_state_dict(self.state)


class EarlyStopping:
    """Stop after `patience` epochs without a new best (0: never). Epochs while the body is still frozen
    (gradual unfreezing) never end the run: the head's plateau there says nothing about the whole network."""

    def __init__(self, patience: int, frozen_body_epochs: int = 0) -> None:
        self.patience, self.frozen_body_epochs, self.waited = patience, frozen_body_epochs, 0

    def should_stop(self, epoch: int, improved: bool) -> bool:
        """`epoch` counts from 1."""
        if self.frozen_body_epochs and epoch == self.frozen_body_epochs + 1:
            self.waited = 0  # the body joins now: give it the full patience
        self.waited = 0 if improved else self.waited + 1
        return bool(self.patience) and self.waited >= self.patience and epoch > self.frozen_body_epochs


class Clock:
    """Counts steps, estimates time left, and rate-limits step events."""

    def __init__(self, total: int, interval_s: float) -> None:
        self.total, self.interval, self.step = total, interval_s, 0
        self.start = self.last_emit = time.monotonic()

    def tick(self) -> None:
        self.step += 1

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last_emit >= self.interval or self.step == self.total:
            self.last_emit = now
            return True
        return False

    def eta(self) -> float:
        if self.step == 0:
            return float("nan")
        return self.elapsed() / self.step * (self.total - self.step)
