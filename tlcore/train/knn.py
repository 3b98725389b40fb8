"""The zero-training baseline: k-nearest neighbours (cosine, distance-weighted) on frozen features.

Nothing is optimised, so a run has no history and no weights; k is at most 5 and at most the smallest
class's training examples, so one- and two-shot cells still vote among real neighbours.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


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


def neighbour_predictor(features: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, num_classes: int
                        ) -> tuple[Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]], int]:
    """Fit on the training rows; return a function giving (class probabilities, labels, indices) for dataset
    indices, and the k chosen."""
    knn = fit_neighbours(features, labels, train_idx, num_classes)

    def predict(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        indices = np.asarray(indices)
        return neighbour_probs(knn, features, indices, num_classes), labels[indices], indices
    return predict, int(knn.n_neighbors)
