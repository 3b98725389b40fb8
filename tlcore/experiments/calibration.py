"""Estimates that learn from this server: how long finished runs really took against what the throughput
model (`tlcore.experiments.estimate`) predicted for them as planned.

The throughput model counts examples per second at the run's image size. Real runs differ from it by the
machine's speed and load and by early stopping (a run planned for 15 epochs often stops after 8). Both
show in the ratio measured wall time / predicted time of finished runs, so that ratio, per model and
strategy (else per model), scales the next estimates. Each run's planned epochs and image size come from
its `config.json` artifact (`resolved`), its sizes and wall time from its result.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from tlcore.core import strategies
from tlcore.runs.paths import read_artifact
from tlcore.runs.store import EVERYONE, RunRecord, RunStore

HISTORY = 60  # the latest finished runs that are read
MIN_RUNS = 2  # fewer measured runs than this: the per-model ratio (or none) is used instead
Predictor = Callable[[dict, dict, dict], float | None]  # (config, resolved, result) → predicted seconds


@dataclass(frozen=True)
class Calibration:
    """Measured / predicted wall time of finished training-loop runs, per (model, strategy) and per model."""

    ratios: dict[tuple[str, str], float] = field(default_factory=dict)
    runs: int = 0

    def factor(self, model: str, strategy: str) -> float:
        """What to multiply a loop strategy's predicted training time by (1.0 when nothing is known)."""
        return self.ratios.get((model, strategy), self.ratios.get((model, "*"), 1.0))


def measured_ratios(records: list[RunRecord], predict: Predictor) -> Calibration:
    """The median ratio per (model, strategy) and per model over `records` (succeeded loop runs only)."""
    ratios: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        strategy, model = r.config.get("strategy", ""), r.config.get("model", "")
        if (strategy not in strategies.IDS or strategies.get(strategy).solver != "loop" or not r.result
                or r.result.get("out_of_time")):  # stopped by its time budget: says nothing about the speed
            continue
        saved = read_artifact(r.id, "config.json") or {}
        predicted = predict(r.config, saved.get("resolved") or {}, r.result)
        wall = r.result.get("wall_seconds")
        if predicted and wall:
            ratios[(model, strategy)].append(wall / predicted)
            ratios[(model, "*")].append(wall / predicted)
    medians = {key: statistics.median(v) for key, v in ratios.items() if len(v) >= MIN_RUNS}
    return Calibration(medians, sum(len(v) for k, v in ratios.items() if k[1] == "*"))


def from_store(store: RunStore, predict: Predictor) -> Calibration:
    """The calibration of this server, from its latest finished runs (of every workspace: only timings)."""
    return measured_ratios(store.list_runs(owner=EVERYONE, statuses=["succeeded"], limit=HISTORY), predict)
