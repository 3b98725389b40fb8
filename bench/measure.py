"""What every side of the benchmark records: a pausable stopwatch, peak memory, and one result row.

Both sides are measured the same way: the stopwatch runs from the first line of the side's own code
(loading data, weights) to the end of its training, and is paused only while the bench itself evaluates
the test set after an epoch (which neither loop would do on its own). Memory is the proportional set size
(PSS) of this process and its children (DataLoader workers), so shared library pages are not counted twice.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil
import torch


class Stopwatch:
    """Wall time that can be paused while the bench evaluates checkpoints."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.paused = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def pause(self) -> _Paused:
        return _Paused(self)


class _Paused:
    def __init__(self, watch: Stopwatch) -> None:
        self.watch = watch

    def __enter__(self) -> None:
        self.t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.watch.paused += time.perf_counter() - self.t


class PeakMemory:
    """Samples PSS of this process tree in a thread (every `interval` s); CUDA peak from torch's counters."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.baseline_mb = self.peak_mb = _tree_pss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _tree_pss_mb())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _tree_pss_mb())

    def summary(self) -> dict[str, float]:
        out = {"peak_mem_mb": round(self.peak_mb, 1), "added_mem_mb": round(self.peak_mb - self.baseline_mb, 1)}
        if torch.cuda.is_available():
            out["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        return out


def _tree_pss_mb() -> float:
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / 2**20


@dataclass
class Side:
    """One side of a case: the reference loop or our engine."""

    name: str
    final_accuracy: float = float("nan")
    wall_s: float = float("nan")
    train_start_s: float = 0.0  # stopwatch seconds when the first training step began (after loading/decoding)
    # (seconds on the stopwatch, examples trained in that epoch, test accuracy of the weights at that point)
    epochs: list[tuple[float, int, float]] = field(default_factory=list)
    memory: dict[str, float] = field(default_factory=dict)
    solved: bool = False  # fitted in one go, not in epochs (the linear probe): no training rate to report
    extra: dict[str, Any] = field(default_factory=dict)

    def time_to(self, target: float) -> float | None:
        """Stopwatch seconds at the first epoch whose test accuracy reaches `target` (None: never)."""
        for seconds, _, acc in self.epochs:
            if acc >= target - 1e-9:
                return seconds
        return None

    def steady_rate(self) -> float | None:
        """Median training examples per second of an epoch (its validation included), leaving out the first
        epoch, which pays one-off warm-up costs, whenever there are more."""
        if self.solved:
            return None
        marks = [(self.train_start_s, 0)] + [(t, n) for t, n, _ in self.epochs]
        rates = [n / (t - t0) for (t0, _), (t, n) in zip(marks, marks[1:]) if t > t0]
        if len(rates) > 1:
            rates = rates[1:]
        return statistics.median(rates) if rates else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
