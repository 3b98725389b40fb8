"""Training: plans per strategy, solvers (loop, probe, nearest neighbours), cached features, metrics.

`prepare` (what is decided before any weights are touched) imports no torch, so the web server can check and
price a run; the training names import torch and scikit-learn on first use.
"""

from typing import TYPE_CHECKING

from tlcore.core.lazy import lazy_exports
from tlcore.train.prepare import Prepared, cap_epochs, prepare

if TYPE_CHECKING:
    from tlcore.train.loop import Cancelled
    from tlcore.train.run import RunOutput, train_run

__getattr__ = lazy_exports(__name__, {"Cancelled": "tlcore.train.loop", "RunOutput": "tlcore.train.run",
                                      "train_run": "tlcore.train.run"})

__all__ = ["Cancelled", "Prepared", "RunOutput", "cap_epochs", "prepare", "train_run"]
