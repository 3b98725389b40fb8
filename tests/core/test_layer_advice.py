"""The freeze rule on per-depth resampled scores, and the pretrained head's confidence gauge."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.core.layer_advice import combined_freeze_index, domain_level, freeze_index, imagenet_confidence
from tlcore.core.transferability import PairedScores


def curve(means: list[float], noise: float, resamples: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(scores on all items, scores on resamples) of a curve whose resamples scatter by `noise`."""
    rng = np.random.default_rng(seed)
    return np.array(means), np.array(means)[:, None] + noise * rng.normal(size=(len(means), resamples))


def paired(logme: tuple[np.ndarray, np.ndarray], knn: tuple[np.ndarray, np.ndarray]) -> PairedScores:
    return PairedScores([f"d{i}" for i in range(len(logme[0]))], 0.8, logme[1], knn[1], logme[0], knn[0])


def test_a_rising_curve_keeps_everything_frozen():
    assert freeze_index(*curve([0.1, 0.2, 0.3, 0.4], 0.01), 0.8) == 3


def test_a_clear_late_drop_freezes_through_the_first_depth_as_good_as_the_best():
    assert freeze_index(*curve([0.1, 0.395, 0.4, 0.2], 0.005), 0.8) == 1


def test_a_flat_noisy_curve_is_not_a_drop():
    assert freeze_index(*curve([0.30, 0.31, 0.33, 0.29], 0.02), 0.8) == 3
    # the resamples' spread is scaled to the full data's standard error (×2 at 80 %): a drop of 0.04 is about
    # 3 SDs of the resampled differences but only 1.5 standard errors
    full = np.array([0.30, 0.34, 0.30])
    samples = full[:, None] + np.array([[0.0] * 10, [0.015, -0.015] * 5, [0.0] * 10])
    assert 2 * (samples[1] - samples[2]).std(ddof=1) < 0.04
    assert freeze_index(full, samples, 0.8) == 2


def test_partial_freezing_needs_both_opinions_then_takes_the_deeper_point():
    drop_early, drop_late = curve([0.1, 0.4, 0.4, 0.2], 0.005), curve([0.1, 0.2, 0.4, 0.2], 0.005)
    rising = curve([0.1, 0.2, 0.3, 0.4], 0.005)
    assert combined_freeze_index(paired(drop_early, rising)) == 3
    assert combined_freeze_index(paired(drop_early, drop_late)) == 2


def test_imagenet_confidence_and_levels():
    confident = np.full((4, 1000), -10.0)
    confident[:, 7] = 10.0
    msp, entropy = imagenet_confidence(confident)
    assert msp == pytest.approx(1.0, abs=1e-4) and entropy < 0.01
    msp, entropy = imagenet_confidence(np.zeros((3, 1000)))
    assert msp == pytest.approx(1e-3) and entropy == pytest.approx(1.0)
    assert [domain_level(m) for m in (0.55, 0.3, 0.1)] == ["near", "moderate", "far"]
