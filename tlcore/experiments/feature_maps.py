"""Why transfer won, as a picture: the test items as each trained model sees them.

Each run's own trained body turns the comparison's test items into feature vectors. A 2-D PCA of them is
drawn coloured by true class, next to one number on the scale of accuracy: how often an item's 5 nearest
neighbours (cosine, leave-one-out, in the full feature space, not the 2-D picture) share its class. Pretrained
features usually cluster the classes before any training; features learnt from scratch on a few examples
usually do not. PCA, not UMAP: UMAP's first fit in a process takes over a minute here (numba compiling) and
separated these small sets no better (see the README). The share of variance the two axes keep says how
faithful the flat picture is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tlcore.core import strategies
from tlcore.core.errors import UserError
from tlcore.core.transferability import knn_loo_accuracy
from tlcore.data import Dataset
from tlcore.runs.paths import read_artifact
from tlcore.runs.store import RunRecord

NEIGHBOURS = 5
BATCH = 32
MAX_MAPPED = 400  # test items drawn at most: the k-NN agreement costs items², and a chart of more is a blur


@dataclass(frozen=True)
class FeatureMap:
    """The test items of one run in 2-D, with the numbers that say how well its features separate the classes."""

    run_id: str
    xy: np.ndarray          # [items, 2]: the first two principal components
    labels: np.ndarray      # [items]: true class index
    names: list[str]        # item names, for hovering
    classes: list[str]
    explained: float        # share of the features' variance the two axes keep
    neighbours_agree: float  # 5-NN leave-one-out accuracy in the full feature space


def separability(features: np.ndarray, labels: np.ndarray) -> float:
    """How often an item's nearest neighbours (cosine, itself left out) vote for its own class. At most
    `NEIGHBOURS`, and fewer than the smallest class has other items, so that a perfect map can score 100 %."""
    smallest = int(np.bincount(labels)[np.unique(labels)].min())
    k = min(NEIGHBOURS, smallest - 1, len(labels) - 1)
    if k < 1:
        raise UserError("Each class needs at least two test items to draw how a model sees them.")
    return knn_loo_accuracy(features, labels, k)  # the ranking's leave-one-out k-NN (equals scikit-learn's)


def feature_map(run_id: str, features: np.ndarray, labels: np.ndarray, names: list[str],
                classes: list[str]) -> FeatureMap:
    from sklearn.decomposition import PCA  # here, like torch below: the Compare page imports this module to draw

    features = np.asarray(features, dtype=np.float64)
    pca = PCA(n_components=min(2, *features.shape)).fit(features)
    xy = pca.transform(features)
    if xy.shape[1] < 2:
        xy = np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    return FeatureMap(run_id, xy, np.asarray(labels), names, classes, float(pca.explained_variance_ratio_.sum()),
                      separability(features, np.asarray(labels)))


def features_of_test_items(run_id: str, ds: Dataset) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(features, true class indices, item names, classes) of the run's test items, from its own trained body
    with the preprocessing it was tested with."""
    predictions = sorted(read_artifact(run_id, "predictions.json") or [], key=lambda p: p["index"])
    if not predictions:
        raise UserError(f"Run {run_id} kept no test predictions, so its test items are not known.")
    if len(predictions) > MAX_MAPPED:  # evenly spread over the test items: the same ones for runs of one split
        predictions = [predictions[i] for i in np.linspace(0, len(predictions) - 1, MAX_MAPPED).round().astype(int)]
    import torch

    from tlcore.experiments.predict import Predictor

    predictor = Predictor(run_id)
    index = [int(p["index"]) for p in predictions]
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(index), BATCH):
            items = [ds.items[i] for i in index[start:start + BATCH]]
            inputs = ((predictor.image_tensor(items),) if predictor.modality == "image"
                      else predictor.encode_texts([str(t) for t in items]))
            chunks.append(predictor.model.features(*inputs).float().numpy())
    classes = list(predictor.classes)
    labels = np.array([classes.index(p["true"]) for p in predictions])
    return np.concatenate(chunks), labels, [str(p["name"]) for p in predictions], classes


def run_feature_map(run_id: str, ds: Dataset) -> FeatureMap:
    features, labels, names, classes = features_of_test_items(run_id, ds)
    return feature_map(run_id, features, labels, names, classes)


def runs_to_map(records: list[RunRecord], transfer: str) -> tuple[RunRecord, RunRecord] | None:
    """(from scratch, transfer) finished runs of the lowest seed both have, so both saw the same test items;
    None when there is no such pair. The nearest-neighbour baseline trains no model to look through."""
    if strategies.get(transfer).solver == "knn" if transfer in strategies.IDS else True:
        return None
    done = {(r.config.get("strategy"), r.config.get("seed")): r for r in records if r.status == "succeeded"}
    seeds = sorted(seed for (s, seed) in done if s == "scratch" and (transfer, seed) in done)
    return (done[("scratch", seeds[0])], done[(transfer, seeds[0])]) if seeds else None
