"""What the CLI and the app both do with runs: check, queue, compare and summarise.

Checks happen here, before anything is queued, so a bad dataset, an unavailable model or an unsupported
strategy is reported to the person at once (and nothing is half-queued).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterable

from tlcore.config import STRATEGIES, TrainConfig
from tlcore.errors import ConfigError, ModelError
from tlcore.models import availability, get_spec
from tlcore.runs.store import RunRecord, RunStore
from tlcore.stats import mean_interval
from tlcore.train.run import Prepared, prepare
from tlcore.workspaces import check_room


def absolute_data(config: TrainConfig) -> TrainConfig:
    """A relative path means the caller's directory; workers run elsewhere, so store it absolute."""
    path = Path(config.data).expanduser()
    return config.with_(data=str(path.resolve())) if path.exists() else config


def check(config: TrainConfig, strategies: Iterable[str] | None = None) -> Prepared:
    """Load the data, split it and resolve settings for `config`; check every strategy can run."""
    strategies = list(strategies or [config.strategy])
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ConfigError(f"Unknown strategy '{unknown[0]}'. Choose from: {', '.join(STRATEGIES)}.")
    spec = get_spec(config.model)
    if "lora" in strategies and not spec.supports_lora:
        raise ModelError(f"LoRA needs a transformer model; {spec.id} is not one. Use finetune or gradual instead.")
    if any(s != "scratch" for s in strategies):
        avail = availability(spec)
        if not avail.available:
            raise ModelError(f"Pretrained weights for {spec.id} are not available: {avail.reason}")
    return prepare(config)


def submit(store: RunStore, config: TrainConfig, *, group_id: str | None = None, name: str = "",
           owner: str = "") -> str:
    """Queue one run for the workspace `owner` (UserError when its queue or storage limit is reached).
    To queue several runs all-or-nothing, call `tlcore.workspaces.check_room(store, owner, n)` first."""
    check_room(store, owner, new_runs=1)
    return _queue(store, config, group_id=group_id, name=name, owner=owner)


def _queue(store: RunStore, config: TrainConfig, *, group_id: str | None, name: str, owner: str) -> str:
    return store.create_run(absolute_data(config).to_dict(), group_id=group_id, name=name, owner=owner)


def submit_comparison(store: RunStore, base: TrainConfig, strategies: list[str], seeds: int, *,
                      name: str = "", owner: str = "") -> tuple[str, list[str], Prepared]:
    """Queue every (seed, strategy) run. Runs of one seed share one split because they share the seed."""
    if not strategies:
        raise ConfigError("Choose at least one strategy to compare.")
    if not 1 <= seeds <= 20:
        raise ConfigError(f"Seeds must be from 1 to 20 (got {seeds}).")
    check_room(store, owner, new_runs=len(strategies) * seeds)
    prep = check(base, strategies)
    group_id = "cmp-" + uuid.uuid4().hex[:10]
    run_ids = [_queue(store, base.with_(strategy=s, seed=base.seed + k), group_id=group_id, owner=owner,
                      name=name or f"{base.model} on {base.data}: {s} (seed {base.seed + k})")
               for k in range(seeds) for s in strategies]
    return group_id, run_ids, prep


def run_result(store: RunStore, record: RunRecord) -> dict[str, Any]:
    """The JSON shape of one run for the CLI and exports."""
    result = record.result or {}
    out = {
        "run_id": record.id, "status": record.status, "strategy": record.config.get("strategy"),
        "seed": record.config.get("seed"), "error": record.error,
        "test_accuracy": result.get("test_accuracy"), "macro_f1": result.get("macro_f1"),
        "n_train": result.get("n_train"), "n_test": result.get("n_test"), "epochs": result.get("epochs"),
        "wall_seconds": result.get("wall_seconds"), "trainable_params": result.get("trainable_params"),
        "split_id": result.get("split_id"),
    }
    out["history"] = store.epochs(record.id)
    return out


def summarize_comparison(records: list[RunRecord]) -> dict[str, dict[str, Any]]:
    """Per strategy: mean test accuracy with a 95% interval over seeds, plus cost figures."""
    by_strategy: dict[str, list[RunRecord]] = {}
    for r in records:
        by_strategy.setdefault(r.config["strategy"], []).append(r)
    summary = {}
    for strategy, runs in by_strategy.items():
        done = [r for r in runs if r.status == "succeeded" and r.result]
        interval = mean_interval([r.result["test_accuracy"] for r in done])
        summary[strategy] = {
            "test_accuracy": interval.to_dict(),
            "macro_f1_mean": _mean([r.result["macro_f1"] for r in done]),
            "wall_seconds_mean": _mean([r.result["wall_seconds"] for r in done]),
            "trainable_params": done[0].result["trainable_params"] if done else None,
            "runs": len(runs), "succeeded": len(done),
        }
    return summary


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
