"""The zero-training baseline: k-nearest neighbours (cosine, distance-weighted) on frozen features.

Nothing is optimised, so a run has no history and no weights; k is at most 5 and at most the smallest
class's training examples, so one- and two-shot cells still vote among real neighbours.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from tlcore.train.results import EventSink, FitResult, Solution

if TYPE_CHECKING:
    from tlcore.train.prepare import Prepared


def fit_neighbours(features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, num_classes: int):
    """A fitted scikit-learn KNeighborsClassifier on the training rows."""
    from sklearn.neighbors import KNeighborsClassifier

    counts = np.bincount(labels[train_idx], minlength=num_classes)
    k = int(max(1, min(5, counts[counts > 0].min())))
    return KNeighborsClassifier(n_neighbors=k, metric="cosine", weights="distance").fit(
        features[train_idx], labels[train_idx])


def neighbour_probs(knn, features: np.ndarray, indices: np.ndarray, num_classes: int) -> np.ndarray:
    """Class probabilities [len(indices), num_classes] (classes absent from training get 0)."""
    probs = np.zeros((len(indices), num_classes))
    probs[:, knn.classes_] = knn.predict_proba(features[indices])
    return probs


def solve_neighbours(features: np.ndarray, prep: Prepared, emit: EventSink) -> Solution:
    """The nearest-neighbour solver on a prepared run's features [N, D] (the PyTorch run's and the one without torch,
    `tlcore.train.frozen_run`): nothing is trained, so the run saves no weights."""
    emit("start", {"total_steps": 0, "epochs": 0})
    started = time.monotonic()
    ds = prep.dataset
    knn = fit_neighbours(features, ds.labels, prep.train_idx, ds.num_classes)

    def predict(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        indices = np.asarray(indices)
        return neighbour_probs(knn, features, indices, ds.num_classes), ds.labels[indices], indices
    return Solution(FitResult(seconds=time.monotonic() - started), predict, trained=False,
                    extra={"neighbours": int(knn.n_neighbors)})
