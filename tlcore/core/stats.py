"""Summary statistics for repeated runs (seeds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float | None
    high: float | None
    n: int
    values: list[float]

    def to_dict(self) -> dict:
        return asdict(self)


def mean_interval(values: list[float], confidence: float = 0.95) -> Interval:
    """Mean with a Student-t confidence interval over seeds (None bounds for a single value).

    Bounds are clipped to [0, 1] because they describe accuracies.
    """
    arr = np.asarray(values, dtype=float)
    n = len(arr)
    if n == 0:
        return Interval(float("nan"), None, None, 0, [])
    mean = float(arr.mean())
    if n < 2:
        return Interval(mean, None, None, n, arr.tolist())
    from scipy import stats  # ~1 s to import: not for every CLI command that might summarise

    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * arr.std(ddof=1) / np.sqrt(n))
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half), n, arr.tolist())


@dataclass(frozen=True)
class PairedTest:
    """Items (test examples) on which one side is right more often than the other, and the p-value."""

    a_better: int
    b_better: int
    ties: int
    p_value: float

    def to_dict(self) -> dict:
        return asdict(self)


def paired_sign_test(correct_a: np.ndarray, correct_b: np.ndarray) -> PairedTest:
    """Two-sided exact test that A and B are equally accurate on the same test items.

    `correct_*` are [seeds, items] arrays of 0/1. Per item, the share of seeds each side gets right is
    compared; items where the shares differ are the discordant ones, and under "no difference" each is
    equally likely to favour either side (an exact binomial sign test). With one seed this is exactly
    McNemar's exact test. Items, not seed × item pairs, are the units: the seeds of one item are not
    independent observations, and pooling them would overstate the evidence.
    """
    a = np.atleast_2d(np.asarray(correct_a, dtype=float))
    b = np.atleast_2d(np.asarray(correct_b, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"paired results must have the same shape, got {a.shape} and {b.shape}")
    diff = a.mean(axis=0) - b.mean(axis=0)
    a_better, b_better = int((diff > 0).sum()), int((diff < 0).sum())
    n = a_better + b_better
    from scipy import stats

    p = float(stats.binomtest(a_better, n, 0.5).pvalue) if n else 1.0
    return PairedTest(a_better, b_better, int(diff.size - n), p)
