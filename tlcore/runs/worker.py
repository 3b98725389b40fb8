"""Worker process: `python -m tlcore.runs.worker RUN_ID` trains a queued run and writes everything to the store.

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
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from tlcore.core import settings
from tlcore.runs.capacity import default_max_workers
from tlcore.runs.execute import execute
from tlcore.runs.memory import release_memory
from tlcore.runs.paths import log_path
from tlcore.runs.store import RunStore

log = logging.getLogger("tlcore.runs")
DEFAULT_MAX_RUNS = 50


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
    """Execute `run_id`, then keep claiming the next queued run (while fewer than `max_active` runs are
    starting or running, whoever runs them) and execute it here too, up to `max_runs` runs in all.
    Returns the final status of each run, in order."""
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
        print("usage: python -m tlcore.runs.worker RUN_ID", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.INFO)
    try:
        os.nice(int(os.environ.get("TLAB_WORKER_NICE", "10")))
    except OSError:
        pass
    torch.set_num_threads(settings.torch_threads(os.cpu_count() or 1))
    max_runs = max(1, int(os.environ.get("TLAB_WORKER_MAX_RUNS") or DEFAULT_MAX_RUNS))
    statuses = run_chain(RunStore(), argv[0], max_active=default_max_workers(), max_runs=max_runs)
    return 0 if all(s in ("succeeded", "cancelled") for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
