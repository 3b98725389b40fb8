"""The linear probe, fitted the standard way: L2-regularised logistic regression (scikit-learn, L-BFGS) on
standardised frozen features, folded into the model's linear head.

A probe is a convex problem, so it is solved to convergence instead of stepped through epochs and picked by
a validation set of a few examples per class, which only adds noise. Measured on tux-photos (MobileNetV2,
3 seeds, same test set): 5 per class 0.61 → 0.77 mean test accuracy, 10 per class 0.85 → 0.85, all 0.90 → 0.91.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from tlcore.train.inputs import FeatureInputs
from tlcore.train.loop import EventSink, FitResult

C = 1.0  # inverse regularisation strength on standardised features (0.02–1 gave the same accuracy)
# A feature whose spread over the training items is below this fraction of the largest is taken as constant
# (scale 1, not its own spread): MiniLM's sentence embeddings have such a dimension, and dividing by its
# near-zero spread gave head weights of 1e31, harmless while the features stay frozen but fatal as soon as the
# body moves (LP-FT on texts went to chance after one epoch).
CONSTANT_SPREAD = 1e-4


def fit_logistic_probe(head: torch.nn.Linear, features: FeatureInputs, train_idx: torch.Tensor,
                       val_idx: torch.Tensor, emit: EventSink) -> FitResult:
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    emit("start", {"total_steps": 1, "epochs": 1})
    x = features.features.float().cpu().numpy()
    y = features.labels.cpu().numpy()
    train = train_idx.cpu().numpy()
    mean, scale = standardisation(x[train])
    clf = LogisticRegression(C=C, max_iter=2000).fit((x[train] - mean) / scale, y[train])
    weight = np.zeros((head.out_features, head.in_features))
    bias = np.full(head.out_features, -1e4)  # a class absent from training is never predicted
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # scikit-learn keeps one row for two classes: logit(class 1) - logit(class 0)
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    weight[clf.classes_] = coef / scale
    bias[clf.classes_] = intercept - (coef / scale) @ mean
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
    row = {"epoch": 1, **_loss_acc(head, features, train_idx, "train"), **_loss_acc(head, features, val_idx, "val"),
           "lr": 0.0, "elapsed": time.monotonic() - started}
    emit("epoch", dict(row, step=1, total_steps=1, eta_s=0.0))
    return FitResult(history=[row], best_epoch=1, seconds=time.monotonic() - started)


def standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale (the spread, or 1 for a constant feature, see CONSTANT_SPREAD)."""
    spread = x.std(axis=0, dtype=np.float64)
    return x.mean(axis=0, dtype=np.float64), np.where(spread > CONSTANT_SPREAD * spread.max(initial=0.0), spread, 1.0)


@torch.inference_mode()
def _loss_acc(head: torch.nn.Linear, features: FeatureInputs, idx: torch.Tensor, prefix: str) -> dict[str, float]:
    if len(idx) == 0:
        return {f"{prefix}_loss": float("nan"), f"{prefix}_acc": float("nan")}
    idx = idx.to(features.features.device)
    logits = head(features.features[idx].float())
    labels = features.labels[idx]
    return {f"{prefix}_loss": F.cross_entropy(logits, labels).item(),
            f"{prefix}_acc": (logits.argmax(1) == labels).float().mean().item()}
