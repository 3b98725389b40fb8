"""The split's own stratified sampling gives exactly scikit-learn's `train_test_split(..., stratify=...)`, item for
item and in the same order, and fails (ValueError) exactly where it does: splits made before stay the same."""

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from tlcore.data.stratify import stratified_split


def sklearn_or_error(idx, labels, fraction, seed):
    try:
        return train_test_split(idx, test_size=fraction, stratify=labels, random_state=seed)
    except ValueError:
        return None


def ours_or_error(idx, labels, fraction, seed):
    try:
        return stratified_split(idx, labels, fraction, seed)
    except ValueError:
        return None


@pytest.mark.parametrize("case", range(400))
def test_matches_scikit_learn_item_for_item(case):
    rng = np.random.default_rng(case)
    counts = rng.integers(1, 40, size=rng.integers(1, 7))
    labels = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    idx = np.sort(rng.choice(10_000, size=len(labels), replace=False)).astype(np.int64)
    fraction = float(rng.choice([0.05, 0.1, 0.15, 0.2, 0.25, 1 / 3, 0.5, 0.8, 0.95]))
    seed = int(rng.integers(0, 1000))
    expected, got = sklearn_or_error(idx, labels, fraction, seed), ours_or_error(idx, labels, fraction, seed)
    assert (expected is None) == (got is None)
    if expected is not None:
        for want, have in zip(expected, got):
            assert have.dtype == np.int64 and np.array_equal(want, have)
