"""Test-set evaluation: accuracy, macro-F1, per-class scores and confusion matrix (scikit-learn), calibration
error (ECE, which scikit-learn does not provide), and per-example predictions for galleries."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


@dataclass
class Evaluation:
    accuracy: float
    macro_f1: float
    ece: float
    n: int
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    classes: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """Weighted mean |accuracy − confidence| over equal-width confidence bins (Guo et al., 2017)."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def evaluate(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> Evaluation:
    """Score class probabilities [N, C] against integer labels [N]."""
    preds = probs.argmax(axis=1)
    label_ids = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, preds, labels=label_ids, zero_division=0)
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(classes, precision, recall, f1, support)
    }
    return Evaluation(
        accuracy=float(accuracy_score(labels, preds)) if len(labels) else 0.0,
        macro_f1=float(f1_score(labels, preds, labels=label_ids, average="macro", zero_division=0)),
        ece=expected_calibration_error(probs, labels),
        n=int(len(labels)),
        per_class=per_class,
        confusion=confusion_matrix(labels, preds, labels=label_ids).tolist(),
        classes=list(classes),
    )


def prediction_rows(probs: np.ndarray, labels: np.ndarray, indices: np.ndarray, names: list[str],
                    classes: list[str], top: int = 5) -> list[dict]:
    """One row per test example: which item, its true class, the prediction and the top-k probabilities."""
    rows = []
    order = np.argsort(-probs, axis=1)[:, :top]
    for row, (i, y) in enumerate(zip(indices.tolist(), labels.tolist())):
        top_k = [(classes[c], round(float(probs[row, c]), 5)) for c in order[row]]
        rows.append({"index": i, "name": names[i], "true": classes[y], "pred": top_k[0][0],
                     "correct": top_k[0][0] == classes[y], "top": top_k})
    return rows
