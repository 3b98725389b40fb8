"""Distillation's pieces that the training loop uses: the loss and the teacher's answers per item (the transfer
set, training items a per-class limit left out and taught with the teacher's answers only, is drawn by
`tlcore.train.prepare.transfer_set`).

The loss (Hinton et al. 2015) is `alpha * T² * KL(softmax(t/T) ‖ softmax(s/T)) + (1 − alpha) * CE(s, y)`: the
T² keeps the soft part's gradient the same size whatever the temperature. Rows whose label is `UNLABELLED`
(the transfer set's items, whose labels are hidden from the student) count in the soft part only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

UNLABELLED = -100  # cross-entropy's ignore_index: the label of an item the student must not learn it from


@dataclass
class SoftTargets:
    """The teacher's logits for every dataset index [N, C] (on the training device), and how to weigh them."""

    logits: torch.Tensor
    temperature: float
    alpha: float


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, *, temperature: float,
                      alpha: float, label_smoothing: float = 0.0) -> torch.Tensor:
    """Batch mean of the soft part over every row plus the hard part over the labelled rows."""
    t = temperature
    soft = F.kl_div(F.log_softmax(student / t, dim=1), F.log_softmax(teacher / t, dim=1), reduction="batchmean",
                    log_target=True)
    labelled = labels != UNLABELLED
    hard = (F.cross_entropy(student[labelled], labels[labelled], label_smoothing=label_smoothing)
            if bool(labelled.any()) else student.sum() * 0.0)
    return alpha * t * t * soft + (1 - alpha) * hard


def hide_labels(labels: torch.Tensor, items: np.ndarray) -> torch.Tensor:
    """A copy of `labels` with those of `items` replaced by `UNLABELLED`, so the student can never read them
    (a copy: the dataset's own labels, which the tensor may share memory with, stay as they are)."""
    hidden = labels.clone()
    if len(items):
        hidden[torch.as_tensor(items, device=labels.device)] = UNLABELLED
    return hidden
