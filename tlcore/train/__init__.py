"""Training: plans per strategy, solvers (loop, probe, nearest neighbours), cached features, metrics."""

from tlcore.train.loop import Cancelled
from tlcore.train.prepare import Prepared, cap_epochs, prepare
from tlcore.train.run import RunOutput, train_run

__all__ = ["Cancelled", "Prepared", "RunOutput", "cap_epochs", "prepare", "train_run"]
