"""Worker process: `python -m tlcore.worker RUN_ID` trains one queued run and writes everything to the store.

One process per run: the GPU memory is released when it exits, a crash cannot take the server with it,
and cancellation can fall back to terminating the process. The worker lowers its own priority so the
app's pages stay responsive on a shared CPU.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from typing import Any

from tlcore import settings
from tlcore.errors import UserError
from tlcore.runs.store import RunStore

log = logging.getLogger("tlcore.worker")


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
    from tlcore.runs.artifacts import write_artifacts
    from tlcore.train.loop import Cancelled
    from tlcore.train.run import prepare, train_run

    record = store.get(run_id)
    if record is None or not store.mark_running(run_id, os.getpid()):
        return record.status if record else "missing"
    started = time.monotonic()
    try:
        prep = prepare(TrainConfig.from_dict(record.config))
        out = train_run(prep, emit=StoreSink(store, run_id), should_stop=CancelFlag(store, run_id))
        write_artifacts(run_id, out)
        result = dict(out.summary, wall_seconds=round(time.monotonic() - started, 3))
        if not store.finish(run_id, "succeeded", result=result):
            return store.get(run_id).status  # e.g. cancelled at the very end: the store's word stands
        return "succeeded"
    except Cancelled:
        store.finish(run_id, "cancelled", error="Cancelled by the user.")
        return "cancelled"
    except UserError as exc:
        store.finish(run_id, "failed", error=str(exc))
        return "failed"
    except Exception as exc:  # the run fails, with the reason; the traceback goes to the worker log
        log.error("run %s failed:\n%s", run_id, traceback.format_exc())
        store.finish(run_id, "failed", error=f"Unexpected error ({type(exc).__name__}: {exc}). "
                     f"Details are in {log_path(run_id)}.")
        return "failed"


def log_path(run_id: str):
    return settings.data_dir() / "logs" / f"{run_id}.log"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tlcore.worker RUN_ID", file=sys.stderr)
        return 2
    run_id = argv[0]
    path = log_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=path, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        os.nice(int(os.environ.get("TLAB_WORKER_NICE", "10")))
    except OSError:
        pass
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    status = execute(RunStore(), run_id)
    log.info("run %s ended: %s", run_id, status)
    return 0 if status in ("succeeded", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
