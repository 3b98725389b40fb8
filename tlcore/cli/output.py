"""What every command shares: plain-text tables, one JSON object with --json, data warnings on stderr, and
progress bars while runs train. Commands import these, never the parser."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from tlcore.core import settings, strategies
from tlcore.core.errors import UserError
from tlcore.core.jsonutil import json_safe
from tlcore.models.registry import get_spec, is_named
from tlcore.runs import RunRecord, RunStore
from tlcore.runs.executor import Executor, executor_kind, make_executor
from tlcore.runs.processes import WARM_ALL, WARM_FROZEN
from tlcore.runs.store import EVERYONE
from tlcore.train.device import driver_present
from tlcore.train.onnx_body import has_pretrained_exports

EXIT_BAD_INPUT = 2


class CliError(UserError):
    """A bad command line (unknown option, wrong value): exit 2 with one line."""


def one_line(text: str) -> str:
    return " ".join(text.split())


def emit(obj: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(json_safe(obj), indent=1) if as_json else render(obj))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def warn_data(warnings: list[str]) -> None:
    """Data warnings (duplicates, tiny classes, skipped files…) qualify the results: show them on stderr."""
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def get_run(store: RunStore, run_id: str) -> RunRecord:
    record = store.get(run_id, owner=EVERYONE)
    if record is None:
        raise CliError(f"No run with id '{run_id}'; see `python -m tlcore runs list`.")
    return record


class _Bars:
    """One tqdm bar per run that has started, on stderr."""

    def __init__(self) -> None:
        self.bars: dict[str, tqdm] = {}

    def update(self, records: list[RunRecord | None]) -> None:
        for r in records:
            if r is None or (r.id not in self.bars and r.status == "queued"):
                continue
            bar = self.bars.get(r.id) or self.bars.setdefault(r.id, _new_bar(r))
            if r.total_steps and bar.total != r.total_steps:
                bar.total = r.total_steps
            target = bar.total if r.status == "succeeded" else r.step
            bar.update(max(0, target - bar.n))
            bar.set_postfix_str(r.status if r.is_final else r.message, refresh=False)
            if r.is_final:
                bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _new_bar(r: RunRecord) -> tqdm:
    per_class = r.config.get("per_class")
    label = f"{r.config['strategy']} s{r.config['seed']}" + (f" {per_class}/class" if per_class else "")
    return tqdm(total=max(r.total_steps, 1), desc=label, file=sys.stderr, unit="step", leave=True,
                mininterval=0.5, dynamic_ncols=True)


@contextmanager
def ready_executor(store: RunStore, strategy_ids: list[str] | tuple[str, ...] | None = None,
                   model_id: str | None = None) -> Iterator[Executor | None]:
    """The local executor, made before the data is checked: with `TLAB_STANDBY_WORKER` on (the default) it starts
    a worker at once, which imports torch and the model libraries while this process checks the data and queues
    the run, and then takes the run: the two slow starts overlap instead of adding up. A worker that an earlier
    command left waiting (`TLAB_WORKER_LINGER_S`, with the same code and settings) takes the run instead, and no
    worker is started. On leaving, the worker stays that long for the next command (0: it is asked to leave, and
    does so once it is on no run, e.g. because the check failed). None for a Ray cluster (its workers are its own,
    and connecting before the check would only hold the cluster's lease meanwhile) or with the standby worker off:
    `wait_with_progress` makes the executor then, as before. `strategy_ids` and `model_id`: what the command will
    queue, when known before the check; when its runs will likely need no torch (`_without_torch`), the worker
    imports only what those need (`tlcore.train.frozen_run`), not torch first."""
    if executor_kind() != "local" or not settings.standby_worker():  # a bad TLAB_EXECUTOR is refused here
        yield None
        return
    warm = WARM_FROZEN if _without_torch(strategy_ids, model_id) else WARM_ALL
    executor = make_executor(store, standby=True, linger_s=settings.worker_linger_s(), standby_warm=warm)
    try:
        executor.pump()
        yield executor
    finally:
        executor.stop()


def _without_torch(strategy_ids: list[str] | tuple[str, ...] | None, model_id: str | None) -> bool:
    """Whether a command's runs will likely train without torch (`tlcore.train.frozen_run`): only frozen strategies
    (linear probe, nearest neighbours), of a bundled image model whose pretrained body this machine has exported,
    on a machine with no GPU driver. A wrong guess costs time, never a result: the worker imports what a run needs."""
    if not model_id or is_named(model_id) or not strategy_ids:  # a library model by name has no bundled weights
        return False
    try:
        spec = get_spec(model_id)
        frozen = all(strategies.get(s).frozen_features for s in strategy_ids)
    except UserError:  # an unknown model or strategy: said by the check, in its place
        return False
    return frozen and spec.modality == "image" and has_pretrained_exports(spec) and not driver_present()


def wait_with_progress(store: RunStore, run_ids: list[str], executor: Executor | None = None) -> list[RunRecord]:
    """Start the runs (with `executor` from `ready_executor`, else the executor TLAB_EXECUTOR names) and follow
    them until each is final; Ctrl-C (or SIGTERM) cancels them, leaving nothing of ours queued or running."""
    own = executor is None
    if executor is None:
        try:
            executor = make_executor(store)
        except UserError:  # e.g. TLAB_EXECUTOR=ray and no cluster: leave nothing of ours waiting for nobody
            for run_id in run_ids:
                store.request_cancel(run_id, owner=EVERYONE)
            raise
    bars = _Bars()
    try:
        return executor.wait(run_ids, poll_s=0.1, on_poll=bars.update)  # a few SQLite reads: shows a result at once
    except KeyboardInterrupt:
        for run_id in run_ids:
            store.request_cancel(run_id, owner=EVERYONE)
        executor.terminate_all(run_ids)
        raise
    finally:
        bars.close()
        if own:
            executor.stop()
