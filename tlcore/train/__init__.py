"""Training: plans per strategy, solvers (loop, probe, nearest neighbours), cached features, metrics.

`prepare` (what is decided before any weights are touched) imports no torch, so the web server can check and
price a run; the training names import torch and scikit-learn on first use.
"""

from typing import TYPE_CHECKING

from tlcore.core.lazy import lazy_exports
from tlcore.train.prepare import Prepared, cap_epochs, prepare

if TYPE_CHECKING:
    from tlcore.train.results import Cancelled, RunOutput
    from tlcore.train.run import train_run

__getattr__ = lazy_exports(__name__, {"Cancelled": "tlcore.train.results", "RunOutput": "tlcore.train.results",
                                      "train_run": "tlcore.train.run"})

__all__ = ["Cancelled", "Prepared", "RunOutput", "cap_epochs", "prepare", "train_run"]
