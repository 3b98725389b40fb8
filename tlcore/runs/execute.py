"""Executing one queued run in this process, to a final state: prepare, train (once more with half the batch
if the GPU runs out of memory), save the artifacts, record the result. Used by the worker process."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import traceback
from typing import Any

from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.runs.artifacts import write_artifacts
from tlcore.runs.memory import with_smaller_batch_on_oom
from tlcore.runs.paths import discard_artifacts, run_dir
from tlcore.runs.sink import CancelFlag, StoreSink
from tlcore.runs.store import EVERYONE, RunRecord, RunStore
from tlcore.runs.tracking import MlflowSink
from tlcore.train import Cancelled, Prepared, RunOutput, prepare, train_run

log = logging.getLogger("tlcore.runs")


def execute(store: RunStore, run_id: str) -> str:
    """Run one job to a final state and return that state. Never raises for a failed run."""
    record = store.get(run_id, owner=EVERYONE)
    if record is None or not store.mark_running(run_id, os.getpid()):
        return record.status if record else "missing"
    return _execute(store, record, MlflowSink.start(run_id, record.name, record.config, record.group_id))


def _execute(store: RunStore, record: RunRecord, tracker: MlflowSink | None) -> str:
    run_id, started = record.id, time.monotonic()
    try:
        prep = prepare(TrainConfig.from_dict(record.config), full_check=True)
        out, note = train_with_oom_retry(store, run_id, prep, tracker)
        return record_success(store, run_id, out, dict(out.summary, **note,
                                                       wall_seconds=round(time.monotonic() - started, 3)), tracker)
    except Cancelled:
        return _end(store, run_id, "cancelled", "Cancelled by the user.", tracker)
    except UserError as exc:
        return _end(store, run_id, "failed", str(exc), tracker)
    except Exception as exc:  # the run fails, with the reason; the traceback goes to the worker log
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        return _end(store, run_id, "failed", f"Unexpected error ({type(exc).__name__}: {exc}). "
                    f"The details are in the server's log of run {run_id}.", tracker)


def train_with_oom_retry(store: RunStore, run_id: str, prep: Prepared,
                         tracker: MlflowSink | None = None) -> tuple[RunOutput, dict[str, Any]]:
    """Train; if the GPU runs out of memory, once more with half the batch (said in the result's `note`).
    Loop events go to the store and, when MLflow tracking is on, to `tracker` too."""
    store_sink, stop, asked = StoreSink(store, run_id), CancelFlag(store, run_id), prep.resolved.batch_size

    def sink(kind: str, data: dict[str, Any]) -> None:
        store_sink(kind, data)
        if tracker is not None:
            tracker(kind, data)

    def attempt(batch_size: int) -> RunOutput:
        resolved = dataclasses.replace(prep.resolved, batch_size=batch_size)
        return train_run(dataclasses.replace(prep, resolved=resolved), emit=sink, should_stop=stop)

    def restart(smaller: int) -> None:
        store.clear_epochs(run_id)
        store.update_progress(run_id, step=0, epoch=0, message=f"The GPU ran out of memory at batch size "
                              f"{asked}; starting again with {smaller}")

    out, used = with_smaller_batch_on_oom(attempt, asked, restart)
    if used == asked:
        return out, {}
    return out, {"batch_size": used,
                 "note": f"The GPU ran out of memory at batch size {asked}, so this run used batch size {used}."}


def record_success(store: RunStore, run_id: str, out: RunOutput, result: dict[str, Any],
                   tracker: MlflowSink | None = None) -> str:
    """Artifacts first (they appear whole or not at all), then the row that says succeeded. If the row can
    no longer say so (cancelled or marked interrupted meanwhile), the artifacts go again: a run folder
    exists only for a succeeded row, and a succeeded row always has its folder. MLflow (if tracking) is
    told before the row, so whoever waits for the row finds the run complete in MLflow too."""
    write_artifacts(run_id, out)
    if tracker is not None:
        tracker.finish("succeeded", result, run_dir(run_id))
    if store.finish(run_id, "succeeded", result=result):
        return "succeeded"
    discard_artifacts(run_id)
    return store.status_of(run_id) or "missing"


def _end(store: RunStore, run_id: str, status: str, error: str, tracker: MlflowSink | None = None) -> str:
    if tracker is not None:
        tracker.finish(status, None, None)
    discard_artifacts(run_id)
    return status if store.finish(run_id, status, error=error) else (store.status_of(run_id) or "missing")
