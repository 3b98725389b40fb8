"""Distillation's teacher: a linear probe on the same model's frozen pretrained features, fitted inside the
student's own run on the same labelled training items, so a distillation run needs no other run.

It is exactly the run's linear-probe strategy (same image size, same cached features, same solver), so in a
comparison that also has a linear probe the frozen pass is shared and the teacher's accuracy equals the probe's.
Its logits are computed once per item, un-augmented; the student then steps at scratch cost.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tlcore.models import create
from tlcore.train.distill import SoftTargets, hide_labels
from tlcore.train.inputs import Inputs
from tlcore.train.loop import EventSink
from tlcore.train.plans import Plan
from tlcore.train.prepare import Prepared, resolved_as
from tlcore.train.run_inputs import build_inputs
from tlcore.train.warm_start import fit_probe_head


@dataclass
class Teacher:
    logits: torch.Tensor  # [N, C] for every dataset item, on the CPU
    val_accuracy: float
    test_accuracy: float


def fit_teacher(prep: Prepared, student_inputs: Inputs, device: torch.device, emit: EventSink) -> Teacher:
    """The linear probe of `prep`'s model fitted on `prep.train_idx`, and its logits for every item."""
    probe_prep = dataclasses.replace(prep, resolved=resolved_as(prep, "linear_probe"))
    size = "image_size" if prep.spec.modality == "image" else "max_length"
    same_inputs = getattr(probe_prep.resolved, size) == getattr(prep.resolved, size)
    inputs = student_inputs if same_inputs else build_inputs(probe_prep, device, emit)
    model = create(prep.spec, prep.dataset.num_classes, "pretrained").to(device)
    features, _ = fit_probe_head(probe_prep, model, inputs, device, emit, "Fitting the teacher (a linear probe)")
    with torch.inference_mode():
        logits = model.head(features.features.float()).cpu()
    labels = torch.as_tensor(prep.dataset.labels)
    return Teacher(logits, _accuracy(logits, labels, prep.val_idx), _accuracy(logits, labels, prep.split.test))


def attach_teacher(prep: Prepared, plan: Plan, inputs: Inputs, device: torch.device,
                   emit: EventSink) -> dict[str, Any]:
    """Fit the teacher, give its answers to the plan, hide the transfer set's labels from the student's
    inputs; returns the facts for the run's summary."""
    teacher = fit_teacher(prep, inputs, device, emit)
    cfg = prep.config
    plan.soft_targets = SoftTargets(teacher.logits.to(device), cfg.distill_temperature, cfg.distill_alpha)
    inputs.labels = hide_labels(inputs.labels, prep.transfer_idx)  # type: ignore[attr-defined]  # all Inputs have
    n = len(prep.transfer_idx)
    return {"teacher": "linear probe on the pretrained features",
            "teacher_val_accuracy": teacher.val_accuracy, "teacher_test_accuracy": teacher.test_accuracy,
            "unlabelled_items": n, "distill_temperature": cfg.distill_temperature,
            "distill_alpha": cfg.distill_alpha,
            "distill_note": (f"also learned from {n} items whose labels it never saw (the teacher's answers only)"
                             if n else "learned from the labelled items only (no unused training items)")}


def _accuracy(logits: torch.Tensor, labels: torch.Tensor, items: np.ndarray) -> float:
    if len(items) == 0:
        return float("nan")
    idx = torch.as_tensor(np.asarray(items, dtype=np.int64))
    return float((logits[idx].argmax(1) == labels[idx]).float().mean())
