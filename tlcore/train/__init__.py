"""Training: strategies (which parameters train, at which rate), one loop, cached features, metrics."""

from tlcore.train.loop import Cancelled
from tlcore.train.run import Prepared, RunOutput, prepare, train_run

__all__ = ["Cancelled", "Prepared", "RunOutput", "prepare", "train_run"]
