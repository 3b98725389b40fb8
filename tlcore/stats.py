"""Summary statistics for repeated runs (seeds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


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
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * arr.std(ddof=1) / np.sqrt(n))
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half), n, arr.tolist())
