"""What the CLI and the app both do to start work: check a config, then queue one run or a comparison.

Checks happen here, before anything is queued, so a bad dataset, an unavailable model or an unsupported
strategy is reported to the person at once (and nothing is half-queued).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tlcore.core import strategies
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError, ModelError
from tlcore.core.settings import Limits
from tlcore.data import library
from tlcore.experiments.quotas import check_room
from tlcore.experiments.workspaces import data_label
from tlcore.models import availability, get_spec
from tlcore.runs.store import RunRecord, RunStore
from tlcore.runs.tracking import open_group
from tlcore.runs.worker_key import worker_key
from tlcore.train import Prepared, prepare


def queueable(store: RunStore, config: TrainConfig, owner: str) -> TrainConfig:
    """The config as it is stored with a run: a relative path made absolute (workers run elsewhere), an
    upload named by the file name its workspace gave it, and a run from the app capped at the server's
    `app_run_seconds` of training (one long run must not hold the shared queue for hours)."""
    if library.is_upload_ref(config.data):
        config = config.with_(data_name=config.data_name or data_label(store, owner, config.data))
    elif Path(config.data).expanduser().exists():
        config = config.with_(data=str(Path(config.data).expanduser().resolve()))
    if owner:
        budget = Limits.from_env().app_run_seconds
        config = config.with_(max_seconds=min(config.max_seconds or budget, budget))
    return config


def display_name(store: RunStore, config: TrainConfig, owner: str) -> str:
    """"model on data", as runs and comparisons are named where people see them."""
    return f"{config.model} on {data_label(store, owner, config.data, config.data_name)}"


def check(config: TrainConfig, strategy_ids: Iterable[str] | None = None) -> Prepared:
    """Load the data, split it and resolve settings for `config`; check every strategy can run."""
    chosen = [strategies.get(s) for s in (strategy_ids or [config.strategy])]
    spec = get_spec(config.model)
    unsupported = [s for s in chosen if not s.supports(spec)]
    if unsupported:
        raise ModelError(f"{unsupported[0].title} needs a transformer model whose attention layers it knows; "
                         f"{spec.id} is not one. Use finetune or gradual instead.")
    if any(s.needs_pretrained_weights for s in chosen):
        avail = availability(spec)
        if not avail.available:
            raise ModelError(f"Pretrained weights for {spec.id} are not available: {avail.reason}")
    if config.freeze_through and any(s.id == "finetune_top" for s in chosen):  # a stage this model has
        from tlcore.models import create  # building the network needs torch: only here
        from tlcore.train.depths import parameters_through

        parameters_through(create(spec, 2, "scratch").body, config.freeze_through, spec.title)
    return prepare(config)


def submit(store: RunStore, config: TrainConfig, *, group_id: str | None = None, name: str = "",
           owner: str = "") -> str:
    """Queue one run for the workspace `owner` (UserError when its queue or storage limit is reached).
    To queue several runs all-or-nothing, call `tlcore.experiments.quotas.check_room(store, owner, n)` first."""
    check_room(store, owner, new_runs=1)
    return _queue(store, config, group_id=group_id, name=name, owner=owner)


def _queue(store: RunStore, config: TrainConfig, *, group_id: str | None, name: str, owner: str) -> str:
    config = queueable(store, config, owner)
    name = name or run_name(display_name(store, config, owner), config)
    # the command line's runs ("" owner) may go to a worker an earlier command left waiting; the app's never do
    key = worker_key() if not owner else None
    return store.create_run(config.to_dict(), group_id=group_id, owner=owner, name=name, worker_key=key)


def run_name(title: str, config: TrainConfig) -> str:
    """"<comparison title>: <strategy as people call it> (seed n)": the part before the last colon names the
    comparison (see `comparison._comparison_name`)."""
    return f"{title}: {strategies.label(config.strategy)} (seed {config.seed})"


def submit_comparison(store: RunStore, base: TrainConfig, strategy_ids: list[str], seeds: int, *,
                      name: str = "", owner: str = "") -> tuple[str, list[str], Prepared]:
    """Queue every (seed, strategy) run. Runs of one seed share one split because they share the seed."""
    if not strategy_ids:
        raise ConfigError("Choose at least one strategy to compare.")
    strategies.check_ids(strategy_ids)
    if not 1 <= seeds <= 20:
        raise ConfigError(f"Seeds must be from 1 to 20 (got {seeds}).")
    check_room(store, owner, new_runs=len(strategy_ids) * seeds)
    prep = check(base, strategy_ids)
    for k in range(1, seeds if base.split_seed is None else 1):  # each seed splits anew: each must be usable
        prepare(base.with_(seed=base.seed + k), prep.dataset)
    group_id = "cmp-" + uuid.uuid4().hex[:10]
    title = name or display_name(store, queueable(store, base, owner), owner)
    open_group(group_id, title, "comparison", len(strategy_ids) * seeds)  # before its runs can start
    run_ids = [_queue(store, c, group_id=group_id, owner=owner, name=run_name(title, c))
               for c in planned_configs(store, base, strategy_ids, seeds, owner)]
    return group_id, run_ids, prep


def planned_configs(store: RunStore, base: TrainConfig, strategy_ids: list[str], seeds: int,
                    owner: str) -> list[TrainConfig]:
    """Every (seed, strategy) run of a comparison, as it is stored. Runs of one seed share one split; only the
    strategy that takes `freeze_through` keeps it (the others are then the same runs as without it)."""
    return [queueable(store, base.with_(strategy=s, seed=base.seed + k,
                                        freeze_through=base.freeze_through if s == "finetune_top" else None), owner)
            for k in range(seeds) for s in strategy_ids]


def previous_comparison(store: RunStore, base: TrainConfig, strategy_ids: list[str], seeds: int, *, owner: str,
                        fingerprint: str) -> str | None:
    """The id of this workspace's latest comparison with exactly these settings on exactly this data (the
    dataset's `fingerprint`) whose every run succeeded or is still on its way; None when there is none.
    Showing it instead of training again gives identical numbers at once."""
    found = [store.find_reusable_run(c.to_dict(), owner=owner, fingerprint=fingerprint)
             for c in planned_configs(store, base, strategy_ids, seeds, owner)]
    groups = {r.group_id if r else None for r in found}
    if len(groups) != 1 or None in groups:
        return None
    group_id = groups.pop()  # and nothing more in it (a 3-seed comparison is not the 1-seed one asked for)
    return group_id if len(store.list_runs(owner=owner, group_id=group_id)) == len(found) else None


# What a distillation run's result rests on: its teacher, and the items it learned from without their labels.
DISTILL_KEYS = ("teacher_test_accuracy", "teacher_val_accuracy", "unlabelled_items", "distill_note")


def run_result(store: RunStore, record: RunRecord) -> dict[str, Any]:
    """The JSON shape of one run for the CLI and exports."""
    result = record.result or {}
    keys = ("test_accuracy", "macro_f1", "n_train", "n_test", "epochs", "wall_seconds", "trainable_params", "split_id")
    return {"run_id": record.id, "status": record.status, "strategy": record.config.get("strategy"),
            "seed": record.config.get("seed"), "error": record.error, **{k: result.get(k) for k in keys},
            **{k: result[k] for k in DISTILL_KEYS if k in result}, "history": store.epochs(record.id)}
