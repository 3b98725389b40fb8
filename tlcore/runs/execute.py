"""Executing one queued run to a final state: prepare, train (once more with half the batch if the GPU runs
out of memory), save the artifacts, record the result.

`train_to_end` is the part that needs no run store (only a `ProgressBoard`): the local worker process runs it
against the store itself, a Ray node against a relay to the server's store (`tlcore.runs.ray.actor`). Both
record the end the same way (`tlcore.runs.recording`: artifacts first, then the row). With `TLAB_MLFLOW_URI`
set, a local worker also logs the run to MLflow (`tlcore.runs.tracking`), finished there before its row says so.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import time
import traceback
from dataclasses import dataclass
from typing import Any

from tlcore.core.config import TrainConfig
from tlcore.core.errors import UserError
from tlcore.runs.artifacts import write_artifacts
from tlcore.runs.memory import with_smaller_batch_on_oom
from tlcore.runs.paths import run_dir
from tlcore.runs.recording import record_end, record_success
from tlcore.runs.sink import CancelFlag, ProgressBoard, StoreSink
from tlcore.runs.store import EVERYONE, RunStore
from tlcore.runs.tracking import MlflowSink
from tlcore.train import Prepared, prepare
from tlcore.train.frozen_run import ExportUnusable, export_for, frozen_run
from tlcore.train.results import Cancelled, RunOutput

log = logging.getLogger("tlcore.runs")


@dataclass
class Ending:
    """How a run ended where it trained: its final status, and for a success the output and result row."""

    status: str  # succeeded, failed or cancelled
    error: str | None = None
    out: RunOutput | None = None
    result: dict[str, Any] | None = None


def execute(store: RunStore, run_id: str) -> str:
    """Run one job to a final state and return that state. Never raises for a failed run."""
    record = store.get(run_id, owner=EVERYONE)
    if record is None or not store.mark_running(run_id, os.getpid(), node=platform.node()):
        return record.status if record else "missing"
    tracker = MlflowSink.start(run_id, record.name, record.config, record.group_id)
    ending = train_to_end(store, run_id, TrainConfig.from_dict(record.config), tracker=tracker)
    if ending.status != "succeeded":
        _track_end(tracker, ending.status)
        return record_end(store, run_id, ending.status, ending.error or "")

    def save() -> None:
        write_artifacts(run_id, ending.out)
        if tracker is not None:
            tracker.finish("succeeded", ending.result, run_dir(run_id))

    try:
        return record_success(store, run_id, ending.result or {}, save)
    except Exception as exc:  # a full disk while saving: the run fails with the reason
        _track_end(tracker, "failed")
        return record_end(store, run_id, "failed", failure_reason(run_id, exc))


def _track_end(tracker: MlflowSink | None, status: str) -> None:
    if tracker is not None:
        tracker.finish(status, None, None)


def train_to_end(board: ProgressBoard, run_id: str, config: TrainConfig, *, data_path: str | None = None,
                 tracker: MlflowSink | None = None) -> Ending:
    """Prepare and train `config`, reporting to `board` (and `tracker`, if any); never raises for a failed run.
    `data_path` reads the dataset from another place than `config.data` (a node's copy of it); the output still
    names `config`."""
    started = time.monotonic()
    try:
        prep = prepare(config if data_path is None else config.with_(data=data_path), full_check=True)
        out, note = train_with_oom_retry(board, run_id, dataclasses.replace(prep, config=config), tracker)
        return Ending("succeeded", out=out, result=dict(out.summary, **note,
                                                        wall_seconds=round(time.monotonic() - started, 3)))
    except Cancelled:
        return Ending("cancelled", "Cancelled by the user.")
    except Exception as exc:
        return Ending("failed", failure_reason(run_id, exc))


def failure_reason(run_id: str, exc: Exception) -> str:
    """What a person reads about a failed run: a UserError as it is; anything else with a pointer to the log
    (where its traceback goes)."""
    if isinstance(exc, UserError):
        return str(exc)
    log.error("run %s failed:\n%s", run_id, "".join(traceback.format_exception(exc)))
    return (f"Unexpected error ({type(exc).__name__}: {exc}). The details are in the server's log of run "
            f"{run_id}.")


def train_with_oom_retry(board: ProgressBoard, run_id: str, prep: Prepared,
                         tracker: MlflowSink | None = None) -> tuple[RunOutput, dict[str, Any]]:
    """Train; if the GPU runs out of memory, once more with half the batch (said in the result's `note`).
    Loop events go to `board` and, when MLflow tracking is on, to `tracker` too."""
    board_sink, stop, asked = StoreSink(board, run_id), CancelFlag(board, run_id), prep.resolved.batch_size

    def sink(kind: str, data: dict[str, Any]) -> None:
        board_sink(kind, data)
        if tracker is not None:
            tracker(kind, data)

    export = export_for(prep)
    if export is not None:  # a probe on this machine's export of the pretrained body: no torch, no GPU to run out of
        try:
            return frozen_run(prep, export, emit=sink, should_stop=stop), {}
        except ExportUnusable as exc:
            log.warning("run %s: the indexed ONNX export could not be used (%s); training through PyTorch",
                        run_id, exc)
            board.clear_epochs(run_id)
    from tlcore.train.run import train_run  # torch, torchvision or transformers: seconds on a cold worker

    def attempt(batch_size: int) -> RunOutput:
        resolved = dataclasses.replace(prep.resolved, batch_size=batch_size)
        return train_run(dataclasses.replace(prep, resolved=resolved), emit=sink, should_stop=stop)

    def restart(smaller: int) -> None:
        board.clear_epochs(run_id)
        board.update_progress(run_id, step=0, epoch=0, message=f"The GPU ran out of memory at batch size "
                              f"{asked}; starting again with {smaller}")

    out, used = with_smaller_batch_on_oom(attempt, asked, restart)
    if used == asked:
        return out, {}
    return out, {"batch_size": used,
                 "note": f"The GPU ran out of memory at batch size {asked}, so this run used batch size {used}."}
