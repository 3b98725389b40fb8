"""Worker process: `python -m tlcore.worker RUN_ID` trains a queued run and writes everything to the store.

Then it stays warm: it claims the next queued run itself (FIFO, within the dispatcher's limit passed in
`TLAB_MAX_WORKERS`) and runs it in the same process, until the queue is empty or `TLAB_WORKER_MAX_RUNS`
runs are done. Imports and model libraries (5–8 s on two CPU cores) are then paid once per worker, not
once per run, which matters for studies of many short runs. Each run still has its own log file.

Runs stay in worker processes: a crash cannot take the server with it, cancellation can fall back to
terminating the process, and GPU memory is released when it exits (and emptied between runs). The worker
lowers its own priority so the app's pages stay responsive on a shared CPU.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import traceback
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from tlcore import settings
from tlcore.errors import UserError
from tlcore.runs.paths import discard_artifacts
from tlcore.runs.store import RunStore

if TYPE_CHECKING:
    from tlcore.train.run import Prepared, RunOutput

log = logging.getLogger("tlcore.worker")
DEFAULT_MAX_RUNS = 50


class StoreSink:
    """Turns loop events into store writes: epochs always, progress at most every `interval_s`."""

    def __init__(self, store: RunStore, run_id: str, interval_s: float = 0.5) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval_s
        self._last = 0.0

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "epoch":
            self.store.add_epoch(self.run_id, {k: v for k, v in data.items()
                                               if k not in ("step", "total_steps", "eta_s")})
            self._progress(step=data["step"], total_steps=data["total_steps"], epoch=data["epoch"],
                           eta_s=data["eta_s"], message=f"Epoch {data['epoch']} done", force=True)
        elif kind == "start":
            self._progress(step=0, total_steps=data["total_steps"], message="Training", force=True)
        elif kind == "step":
            self._progress(step=data["step"], total_steps=data["total_steps"], epoch=data["epoch"] - 1,
                           eta_s=data["eta_s"], message=f"Training (epoch {data['epoch']})")
        elif kind == "phase":
            done, total = data["done"], data["total"]
            self._progress(message=f"{data['message']} ({done}/{total})" if total else data["message"],
                           force=done in (0, total))

    def _progress(self, force: bool = False, **fields: Any) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.store.update_progress(self.run_id, **fields)


class CancelFlag:
    """Reads the store's cancel flag, at most every `interval_s` so the check costs nothing per step."""

    def __init__(self, store: RunStore, run_id: str, interval_s: float = 0.25) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval_s
        self._last, self._value = 0.0, False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._value and now - self._last >= self.interval:
            self._last = now
            self._value = self.store.cancel_requested(self.run_id)
        return self._value


def execute(store: RunStore, run_id: str) -> str:
    """Run one job to a final state and return that state. Never raises for a failed run."""
    from tlcore.config import TrainConfig
    from tlcore.train.loop import Cancelled
    from tlcore.train.run import prepare

    record = store.get(run_id)
    if record is None or not store.mark_running(run_id, os.getpid()):
        return record.status if record else "missing"
    started = time.monotonic()
    try:
        out, note = train_with_oom_retry(store, run_id, prepare(TrainConfig.from_dict(record.config)))
        return record_success(store, run_id, out, dict(out.summary, **note,
                                                       wall_seconds=round(time.monotonic() - started, 3)))
    except Cancelled:
        return _end(store, run_id, "cancelled", "Cancelled by the user.")
    except UserError as exc:
        return _end(store, run_id, "failed", str(exc))
    except Exception as exc:  # the run fails, with the reason; the traceback goes to the worker log
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        return _end(store, run_id, "failed", f"Unexpected error ({type(exc).__name__}: {exc}). "
                    f"Details are in {log_path(run_id)}.")


def train_with_oom_retry(store: RunStore, run_id: str, prep: Prepared) -> tuple[RunOutput, dict[str, Any]]:
    """Train; if the GPU runs out of memory, once more with half the batch (said in the result's `note`)."""
    from tlcore.runs.memory import with_smaller_batch_on_oom
    from tlcore.train.run import train_run

    sink, stop, asked = StoreSink(store, run_id), CancelFlag(store, run_id), prep.resolved.batch_size

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


def record_success(store: RunStore, run_id: str, out: RunOutput, result: dict[str, Any]) -> str:
    """Artifacts first (they appear whole or not at all), then the row that says succeeded. If the row can
    no longer say so (cancelled or marked interrupted meanwhile), the artifacts go again: a run folder
    exists only for a succeeded row, and a succeeded row always has its folder."""
    from tlcore.runs.artifacts import write_artifacts

    write_artifacts(run_id, out)
    if store.finish(run_id, "succeeded", result=result):
        return "succeeded"
    discard_artifacts(run_id)
    return store.get(run_id).status


def _end(store: RunStore, run_id: str, status: str, error: str) -> str:
    discard_artifacts(run_id)
    return status if store.finish(run_id, status, error=error) else store.get(run_id).status


def log_path(run_id: str):
    return settings.data_dir() / "logs" / f"{run_id}.log"


@contextmanager
def run_log(run_id: str) -> Iterator[None]:
    """Send this process's log records to the run's own log file while it runs."""
    path = log_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def run_chain(store: RunStore, run_id: str | None, *, max_active: int, max_runs: int) -> list[str]:
    """Execute `run_id`, then keep claiming the oldest queued run (while fewer than `max_active` runs are
    starting or running, whoever runs them) and execute it here too, up to `max_runs` runs in all.
    Returns the final status of each run, in order."""
    from tlcore.runs.memory import release_memory

    statuses: list[str] = []
    while run_id is not None:
        with run_log(run_id):
            statuses.append(execute(store, run_id))
            log.info("run %s ended: %s", run_id, statuses[-1])
        if len(statuses) >= max_runs:
            break
        run_id = store.claim_next(os.getpid(), max_active)  # at once: the dispatcher holds our slot briefly
        release_memory()
    return statuses


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tlcore.worker RUN_ID", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    try:
        os.nice(int(os.environ.get("TLAB_WORKER_NICE", "10")))
    except OSError:
        pass
    import torch

    from tlcore.runs.jobs import default_max_workers
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    max_runs = max(1, int(os.environ.get("TLAB_WORKER_MAX_RUNS") or DEFAULT_MAX_RUNS))
    statuses = run_chain(RunStore(), argv[0], max_active=default_max_workers(), max_runs=max_runs)
    return 0 if all(s in ("succeeded", "cancelled") for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
