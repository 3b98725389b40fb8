"""The freeze rule on per-depth resampled scores, and the pretrained head's confidence gauge."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.core.layer_advice import combined_freeze_index, domain_level, freeze_index, imagenet_confidence


def curve(means: list[float], noise: float, resamples: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array(means)[:, None] + noise * rng.normal(size=(len(means), resamples))


def test_a_rising_curve_keeps_everything_frozen():
    assert freeze_index(curve([0.1, 0.2, 0.3, 0.4], 0.01)) == 3


def test_a_clear_late_drop_freezes_through_the_first_depth_as_good_as_the_best():
    assert freeze_index(curve([0.1, 0.395, 0.4, 0.2], 0.005)) == 1


def test_a_flat_noisy_curve_is_not_a_drop():
    assert freeze_index(curve([0.30, 0.31, 0.33, 0.29], 0.05)) == 3


def test_partial_freezing_needs_both_opinions_then_takes_the_deeper_point():
    drop_early, drop_late = curve([0.1, 0.4, 0.4, 0.2], 0.005), curve([0.1, 0.2, 0.4, 0.2], 0.005)
    rising = curve([0.1, 0.2, 0.3, 0.4], 0.005)
    assert combined_freeze_index(drop_early, rising) == 3
    assert combined_freeze_index(drop_early, drop_late) == 2


def test_imagenet_confidence_and_levels():
    confident = np.full((4, 1000), -10.0)
    confident[:, 7] = 10.0
    msp, entropy = imagenet_confidence(confident)
    assert msp == pytest.approx(1.0, abs=1e-4) and entropy < 0.01
    msp, entropy = imagenet_confidence(np.zeros((3, 1000)))
    assert msp == pytest.approx(1e-3) and entropy == pytest.approx(1.0)
    assert [domain_level(m) for m in (0.55, 0.3, 0.1)] == ["near", "moderate", "far"]
