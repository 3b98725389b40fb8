"""Job dispatch: queued runs in the store are started as worker processes, FIFO, a few at a time.

The caller (the CLI, or the app's one dispatcher per server) never trains itself. Workers are started
with `subprocess` rather than `multiprocessing`, which would re-import the Streamlit page script.
Concurrency is counted in the store, so several dispatchers sharing a data directory respect one limit.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

import psutil

from tlcore.runs.store import RunRecord, RunStore

log = logging.getLogger("tlcore.jobs")
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def default_max_workers() -> int:
    """`TLAB_MAX_WORKERS`, else one per GPU, else one on the CPU (two CPU runs would only slow each other)."""
    if os.environ.get("TLAB_MAX_WORKERS"):
        return max(1, int(os.environ["TLAB_MAX_WORKERS"]))
    import torch
    return max(1, torch.cuda.device_count())


def is_worker_alive(pid: int, run_id: str) -> bool:
    """True if `pid` is a live worker for this run (a reused pid of another program does not count)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # a hardened /proc hides other users' processes: assume it is ours
        return True
    return "tlcore.worker" in cmdline and run_id in cmdline


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Dispatcher:
    """Starts queued runs, reaps finished workers, and enforces cancellation after a grace period."""

    def __init__(self, store: RunStore, *, max_workers: int | None = None, cancel_grace_s: float = 10.0,
                 recover_every_s: float = 5.0, python: str = sys.executable) -> None:
        self.store = store
        self.max_workers = max_workers or default_max_workers()
        self.cancel_grace_s = cancel_grace_s
        self.python = python
        self._procs: dict[str, subprocess.Popen] = {}
        self._cancel_seen: dict[str, float] = {}
        self._gpus: dict[str, str | None] = {}
        self.recover_every_s = recover_every_s
        self._last_recover = float("-inf")
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def recover(self) -> list[str]:
        """Mark runs whose worker is gone (crash, kill, server restart) as interrupted.

        Concurrency is counted in the store, so one dead worker left 'running' would block every queue
        sharing the data directory; `pump` therefore also calls this every `recover_every_s`.
        """
        self._last_recover = time.monotonic()
        return self.store.recover_orphans(is_worker_alive, skip=self._procs)

    def pump(self) -> None:
        with self._lock:
            self._reap()
            if time.monotonic() - self._last_recover >= self.recover_every_s:
                self.recover()
            self._enforce_cancels()
            self._start_queued()

    def _start_queued(self) -> None:
        while self.store.count_active() < self.max_workers:
            queued = self.store.queued()
            if not queued:
                return
            if self.store.claim(queued[0].id, max_active=self.max_workers):
                self._spawn(queued[0].id)
            elif self.store.get(queued[0].id).status == "queued":
                return  # another dispatcher filled the last slot first

    def _spawn(self, run_id: str) -> None:
        from tlcore.worker import log_path
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        gpu = self._free_gpu()
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        try:
            path = log_path(run_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as stderr:  # import errors and crashes before logging starts land here
                proc = subprocess.Popen([self.python, "-m", "tlcore.worker", run_id], env=env, cwd=PACKAGE_ROOT,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                        start_new_session=True)
        except OSError as exc:
            self.store.finish(run_id, "failed", error=f"Could not start a worker process ({exc}).")
            return
        self.store.set_pid(run_id, proc.pid)
        self._procs[run_id] = proc
        self._gpus[run_id] = gpu
        log.info("started run %s as pid %s on %s", run_id, proc.pid, f"GPU {gpu}" if gpu else "the CPU")

    def _free_gpu(self) -> str | None:
        """One worker per GPU: give each new worker a GPU none of ours is using (None without CUDA)."""
        if os.environ.get("CUDA_VISIBLE_DEVICES") is not None or self.max_workers < 2:
            return None  # the host pinned devices itself, or there is one worker and it sees every GPU
        import torch
        used = {g for run_id, g in self._gpus.items() if run_id in self._procs}
        free = [str(i) for i in range(torch.cuda.device_count()) if str(i) not in used]
        return free[0] if free else None

    def _reap(self) -> None:
        for run_id, proc in list(self._procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self._procs[run_id]
            self._cancel_seen.pop(run_id, None)
            self._gpus.pop(run_id, None)
            record = self.store.get(run_id)
            if record is None or record.is_final:
                continue
            if record.cancel_requested:
                self.store.finish(run_id, "cancelled", error="Cancelled by the user.")
            else:
                self.store.finish(run_id, "failed", error=f"The worker process stopped unexpectedly "
                                  f"({describe_exit(code)}); the run was not finished. Start it again.")

    def _enforce_cancels(self) -> None:
        now = time.monotonic()
        for run_id, proc in self._procs.items():
            if not self.store.cancel_requested(run_id):
                continue
            first = self._cancel_seen.setdefault(run_id, now)
            if now - first > 2 * self.cancel_grace_s:
                proc.kill()
            elif now - first > self.cancel_grace_s:
                proc.terminate()

    # -- driving ---------------------------------------------------------------------------------------
    def start(self, interval_s: float = 0.5) -> "Dispatcher":
        """Pump in a daemon thread (for a long-lived server)."""
        if self._thread and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name="tlcore-dispatcher",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.pump()
            except Exception:  # a transient store error must not kill the dispatcher thread
                log.exception("dispatcher pump failed")
            self._stop.wait(interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def wait(self, run_ids: Iterable[str], *, poll_s: float = 0.5, timeout_s: float | None = None,
             on_poll: Callable[[list[RunRecord]], None] | None = None) -> list[RunRecord]:
        """Pump until every run in `run_ids` is final (for the CLI and tests); TimeoutError after `timeout_s`."""
        run_ids = list(run_ids)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished after {timeout_s} s: {run_ids}")
            self.pump()
            records = [self.store.get(r) for r in run_ids]
            if on_poll:
                on_poll(records)
            if all(r is None or r.is_final for r in records):
                return records
            time.sleep(poll_s)

    def terminate_all(self) -> None:
        """Cancel and stop this dispatcher's workers (e.g. on Ctrl-C in the CLI)."""
        for run_id, proc in list(self._procs.items()):
            self.store.request_cancel(run_id)
            proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._reap()
