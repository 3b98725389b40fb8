"""A stratified random split of item indices that gives exactly what scikit-learn's
`train_test_split(idx, test_size=fraction, stratify=labels, random_state=seed)` gives (its StratifiedShuffleSplit
and `_approximate_mode`, BSD-3-Clause), so every split made before stays the same item for item.

It lives here so that splitting a dataset needs no scikit-learn: the web server splits the demo's data to price
it on Home, and importing scikit-learn (and SciPy) alone takes about 2 s on a 2-core CPU.
`tests/data/test_stratify.py` checks it against scikit-learn on many random cases.
"""

from __future__ import annotations

import math

import numpy as np


def stratified_split(idx: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rest, taken) of `idx`: `taken` holds about `fraction` of each class of `labels` (one label per item of
    `idx`). Raises ValueError where scikit-learn does: a class with a single item, or fewer items on either side
    than there are classes."""
    n_items = len(idx)
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction} should be in the (0, 1) range")
    n_taken = math.ceil(fraction * n_items)
    n_rest = n_items - n_taken
    classes, class_of, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if n_rest == 0 or counts.min() < 2 or min(n_rest, n_taken) < len(classes):
        raise ValueError(f"{n_items} items of {len(classes)} classes (at least {counts.min()} each) cannot be split "
                         f"{n_rest} : {n_taken} with every class on both sides")
    members = np.split(np.argsort(class_of, kind="stable"), np.cumsum(counts)[:-1])
    rng = np.random.RandomState(seed)
    rest_per_class = _approximate_mode(counts, n_rest, rng)
    taken_per_class = _approximate_mode(counts - rest_per_class, n_taken, rng)
    rest: list[np.int64] = []
    taken: list[np.int64] = []
    for c, items in enumerate(members):
        shuffled = items.take(rng.permutation(counts[c]), mode="clip")
        rest.extend(shuffled[: rest_per_class[c]])
        taken.extend(shuffled[rest_per_class[c]: rest_per_class[c] + taken_per_class[c]])
    return idx[rng.permutation(rest)], idx[rng.permutation(taken)]


def _approximate_mode(counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """How many of `n_draws` to take per class: proportional shares rounded down, then one more for the classes
    with the largest remainders (ties broken at random)."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            now = min(len(tied), need)
            floored[rng.choice(tied, size=now, replace=False)] += 1
            need -= now
            if need == 0:
                break
    return floored.astype(int)
