"""Worker process: `python -m tlcore.runs.worker RUN_ID` trains a queued run and writes everything to the store;
`python -m tlcore.runs.worker --standby` starts with no run and waits, warm, for the next one to be queued (with
`TLAB_WORKER_LINGER_S`, also for a while after the command that started it is gone: see `Tenure`).

Then it stays warm: it claims the next queued run itself (within the dispatcher's limit passed in
`TLAB_MAX_WORKERS`) and runs it in the same process, until the queue is empty or `TLAB_WORKER_MAX_RUNS`
runs are done. Imports and model libraries (5–8 s on two CPU cores) are then paid once per worker, not
once per run, which matters for studies of many short runs. Each run still has its own log file.

Runs stay in worker processes: a crash cannot take the server with it, cancellation can fall back to
terminating the process, and GPU memory is released when it exits (and emptied between runs). The worker
lowers its own priority so the app's pages stay responsive on a shared CPU.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tlcore.core import settings
from tlcore.runs.capacity import default_max_workers
from tlcore.runs.execute import execute
from tlcore.runs.memory import release_memory
from tlcore.runs.paths import heartbeat_path, log_path
from tlcore.runs.priority import lower_priority
from tlcore.runs.processes import LEAVE_WHEN_IDLE, WARM_ALL, WARM_FROZEN, beat
from tlcore.runs.store import RunStore
from tlcore.runs.worker_key import worker_key
from tlcore.train.device import driver_present, set_thread_budget

log = logging.getLogger("tlcore.runs")
DEFAULT_MAX_RUNS = 50
STANDBY = "--standby"
STANDBY_POLL_S = 0.25


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


def run_chain(store: RunStore, run_id: str | None, *, max_active: int, max_runs: int,
              goes_on: Callable[[], bool] = lambda: True) -> list[str]:
    """Execute `run_id`, then keep claiming the next queued run (while fewer than `max_active` runs are
    starting or running, whoever runs them) and execute it here too, up to `max_runs` runs in all, and only
    while `goes_on()` (a standby worker: while its server or command is there and it was not asked to leave).
    Returns the final status of each run, in order."""
    statuses: list[str] = []
    while run_id is not None:
        with run_log(run_id):
            statuses.append(execute(store, run_id))
            log.info("run %s ended: %s", run_id, statuses[-1])
        if len(statuses) >= max_runs or not goes_on():
            break
        run_id = store.claim_next(os.getpid(), max_active)  # at once: the dispatcher holds our slot briefly
        if run_id is not None:  # (with none, a standby worker releases it once it says it waits again)
            release_memory()
    return statuses


WARM_MODULES = {  # by TLAB_STANDBY_WARM, which the dispatcher sets (`Dispatcher.standby_warm`)
    WARM_ALL: ("tlcore.train.run", "sklearn.linear_model", "torchvision.models", "timm", "onnxruntime",
               "transformers"),
    # A command queueing only linear probes or nearest neighbours: on a bundled image model these need no torch
    # (`tlcore.train.frozen_run`), and a run queued while the worker imports torch (2-4 s on two cores) would
    # wait for it. A run that needs more imports it when it starts.
    WARM_FROZEN: ("onnxruntime", "sklearn.linear_model", "sklearn.neighbors"),
}


def warm_set() -> str:
    """Which of WARM_MODULES this standby worker imports while it waits (`TLAB_STANDBY_WARM`; all by default)."""
    value = os.environ.get("TLAB_STANDBY_WARM", WARM_ALL)
    return value if value in WARM_MODULES else WARM_ALL


def warm_up(name: str) -> None:
    """Import one library a run may need before any run is there (otherwise its first run pays for it); a
    module missing here is simply left to the run that needs it."""
    import importlib
    try:
        importlib.import_module(name)
    except ImportError as exc:
        log.info("standby: %s not imported (%s)", name, exc)


class Tenure:
    """How long a standby worker stays and which runs it takes: any queued run while `parent` (the server or the
    command that started it) is there; after that, for `linger_s` seconds since its last run, only runs queued
    with its own worker key (the same code and settings), and only while its run store is there. Asked to leave
    (`LEAVE_WHEN_IDLE`, from the dispatcher when its server stops), it takes no further run."""

    def __init__(self, store: RunStore, parent: int, linger_s: float) -> None:
        self.store, self.parent, self.linger_s = store, parent, linger_s
        self.key = worker_key()  # the code on disk now: the code this process imports
        self.idle_since: float | None = None
        self.asked_to_leave = False
        self.warming = False  # importing a library before any run is there: it holds no run

    def leave_when_idle(self, *_: object) -> None:
        """`LEAVE_WHEN_IDLE`: during a warm-up import, leave at once (an import of torch takes seconds, and nothing
        is claimed then); otherwise take no further run, and leave after the one it is on."""
        if self.warming:
            raise SystemExit(0)
        self.asked_to_leave = True

    def warm_up(self, name: str) -> None:
        """`warm_up(name)`, marked as a time when a request to leave ends the process at once."""
        self.warming = True
        try:
            warm_up(name)
        finally:
            self.warming = False

    def attached(self) -> bool:
        return os.getppid() == self.parent

    def chains(self) -> bool:
        """Whether, after a run, it claims the next queued run of any kind at once."""
        return self.attached() and not self.asked_to_leave

    def stays(self) -> bool:
        if self.asked_to_leave:
            return False
        if self.attached():
            self.idle_since = None  # the linger counts from the later of its command's end and its last run's
            return True
        self.idle_since = self.idle_since or time.monotonic()
        return time.monotonic() - self.idle_since < self.linger_s and self.store.path.exists()

    def claim(self, max_active: int) -> str | None:
        return self.store.claim_next(os.getpid(), max_active, worker_key=None if self.attached() else self.key)

    def worked(self) -> None:
        self.idle_since = None if self.attached() else time.monotonic()


def standby(store: RunStore, *, max_active: int, max_runs: int, parent: int, linger_s: float = 0.0,
            poll_s: float = STANDBY_POLL_S) -> list[str]:
    """Import the libraries runs need one by one, looking for a queued run between two imports (a run queued
    meanwhile, e.g. by the command line that started this worker before checking its data, starts at once and
    imports only what it needs); then wait, claim each run as it is queued and run the chain from it, until
    `max_runs` runs are done. Stops when `parent`, the process that started it (the server, or the command),
    is gone: at once while it waits, after the run it is on otherwise (it takes no further one); with
    `linger_s`, that much later (see `Tenure`). `parent` comes from the dispatcher, not from `os.getppid()`
    here: a parent that died while this process was still starting would otherwise go unseen. The heartbeat
    starts once the imports are done (until then the dispatcher allows STANDBY_WARMUP_S).

    `LEAVE_WHEN_IDLE` only sets a flag that is read between runs, so whenever it comes (while waiting, while
    claiming, or on a run) no run it claimed is cut short; until the handler is set, and during a warm-up import,
    it ends the process, which holds no run then (`Tenure.leave_when_idle`)."""
    statuses, started, pending = [], time.monotonic(), list(WARM_MODULES[warm_set()])
    print(f"standby worker {os.getpid()}: started", file=sys.stderr, flush=True)
    tenure = Tenure(store, parent, linger_s)
    signal.signal(LEAVE_WHEN_IDLE, tenure.leave_when_idle)
    signal.siginterrupt(LEAVE_WHEN_IDLE, False)  # system calls of a run it arrives in are restarted, not failed
    try:
        while len(statuses) < max_runs and tenure.stays():
            run_id = tenure.claim(max_active)
            if run_id is not None:
                statuses += run_chain(store, run_id, max_active=max_active, max_runs=max_runs - len(statuses),
                                      goes_on=tenure.chains)
                tenure.worked()
                if not tenure.asked_to_leave:  # waiting again (not when leaving: no dispatcher may count on it), said
                    beat(os.getpid(), tenure.key)  # before the collection below, which took the next command longer
                release_memory()  # a worker that waits on holds no cached GPU memory
            elif pending:
                tenure.warm_up(pending.pop(0))
                if not pending:
                    print(f"standby worker {os.getpid()}: ready after {time.monotonic() - started:.1f} s",
                          file=sys.stderr, flush=True)
            else:
                beat(os.getpid(), tenure.key)  # "waiting, not hung": the dispatcher replaces one that stops this
                time.sleep(poll_s)
    finally:
        heartbeat_path(os.getpid()).unlink(missing_ok=True)
    return statuses


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(f"usage: python -m tlcore.runs.worker RUN_ID | {STANDBY}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    lower_priority(os.getpid(), below=os.getppid())  # its starter did so already, unless it was started by hand
    set_thread_budget(settings.torch_threads(os.cpu_count() or 1))  # its runs' threads, in torch or ONNX Runtime
    if driver_present():  # a GPU's runs need torch, and it answers what the device is (else a second Python would)
        import torch  # noqa: F401
    max_runs = max(1, int(os.environ.get("TLAB_WORKER_MAX_RUNS") or DEFAULT_MAX_RUNS))
    store, max_active = RunStore(), default_max_workers()
    if argv[0] == STANDBY:
        parent = int(os.environ.get("TLAB_STANDBY_PARENT") or os.getppid())
        statuses = standby(store, max_active=max_active, max_runs=max_runs, parent=parent,
                           linger_s=float(os.environ.get("TLAB_WORKER_LINGER_S") or 0))
    else:
        statuses = run_chain(store, argv[0], max_active=max_active, max_runs=max_runs)
    return 0 if all(s in ("succeeded", "cancelled") for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
