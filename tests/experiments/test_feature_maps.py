"""Feature maps of real trained runs: the features are the run's own body on its own test items (its head on
them gives exactly the predictions it saved), and pretrained features separate easy classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support.worker import tiny_config
from tlcore.core.errors import UserError
from tlcore.data import load_source
from tlcore.experiments.feature_maps import features_of_test_items, run_feature_map, separability
from tlcore.experiments.predict import Predictor
from tlcore.runs import RunStore
from tlcore.runs.execute import execute
from tlcore.runs.paths import read_artifact


@pytest.fixture(scope="module")
def trained(tiny_image_folder):
    store = RunStore()
    ids = {}
    for strategy in ("scratch", "linear_probe"):
        config = tiny_config(tiny_image_folder, strategy=strategy, epochs=2, test_fraction=0.5)
        run_id = store.create_run(config.to_dict(), name=strategy)
        assert store.claim(run_id) and execute(store, run_id) == "succeeded"
        ids[strategy] = run_id
    return ids, load_source(str(tiny_image_folder))


def test_features_are_the_runs_own_view_of_its_test_items(trained):
    ids, ds = trained
    for run_id in ids.values():
        features, labels, names, classes = features_of_test_items(run_id, ds)
        saved = sorted(read_artifact(run_id, "predictions.json"), key=lambda p: p["index"])
        assert features.shape[0] == len(saved) == 12 and names == [p["name"] for p in saved]
        head = Predictor(run_id).model.head
        with torch.inference_mode():
            said = head(torch.from_numpy(features)).argmax(1).numpy()
        assert [classes[i] for i in said] == [p["pred"] for p in saved]
        assert [classes[i] for i in labels] == [p["true"] for p in saved]


def test_pretrained_features_separate_coloured_blobs(trained):
    ids, ds = trained
    fmap = run_feature_map(ids["linear_probe"], ds)
    assert fmap.xy.shape == (12, 2) and 0 < fmap.explained <= 1
    assert fmap.neighbours_agree >= 0.75  # chance is 1/3


def test_a_large_test_set_is_mapped_through_an_even_spread_of_its_items(trained, monkeypatch):
    from tlcore.experiments import feature_maps
    ids, ds = trained
    monkeypatch.setattr(feature_maps, "MAX_MAPPED", 7)
    maps = [run_feature_map(run_id, ds) for run_id in ids.values()]
    assert [m.xy.shape[0] for m in maps] == [7, 7] and maps[0].names == maps[1].names  # the same items


def test_separability_needs_two_items_per_class_and_scores_perfect_clusters_fully():
    labels = np.array([0, 0, 1, 1, 1])
    clusters = np.eye(3)[labels] + 0.01 * np.arange(5)[:, None]
    assert separability(clusters, labels) == 1.0
    with pytest.raises(UserError, match="at least two test items"):
        separability(clusters[:3], np.array([0, 1, 1]))
