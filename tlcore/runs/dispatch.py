"""Job dispatch: queued runs in the store are started as worker processes, FIFO, a few at a time.

The caller (the CLI, or the app's one dispatcher per server) never trains itself. Workers are started
with `subprocess` rather than `multiprocessing`, which would re-import the Streamlit page script.
Concurrency is counted in the store, so several dispatchers sharing a data directory respect one limit.

A worker is warm: after its run it claims the next queued one itself (see `tlcore.runs.worker`), so the
dispatcher tracks *processes* and asks the store which run each is on (`runs.pid`) to enforce a cancel,
or to record why a run ended when its process dies. With `standby=True` one worker is started before any run
is queued and kept there: in the app it waits with torch and the model libraries imported, so the first run
after a server start begins at once instead of after a worker start; in the command line it imports while
the command checks the data, and with `linger_s` it stays that long after the command, for the next command's
runs: a later dispatcher sees it waiting (`processes.waiting_workers`) and leaves it the runs queued with its key.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tlcore.runs.capacity import default_max_workers
from tlcore.runs.paths import discard_artifacts, heartbeat_path, log_path
from tlcore.runs.priority import lower_priority
from tlcore.runs.processes import (
    LEAVE_WHEN_IDLE,
    describe_exit,
    is_worker_alive,
    runs_by_pid,
    stop_process,
    waiting_workers,
)
from tlcore.runs.pumping import PumpLoop
from tlcore.runs.store import EVERYONE, RunRecord, RunStore, Scope
from tlcore.runs.worker_key import worker_key
from tlcore.train.device import cuda_device_count

log = logging.getLogger("tlcore.jobs")
STANDBY = "--standby"  # the worker's argument for "no run yet: wait for one" (tlcore.runs.worker)
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
STANDBY_RESPAWN_S = 30.0  # a standby worker that keeps dying is started again at most this often
STANDBY_WARMUP_S = 300.0  # how long a new standby worker may import before its first heartbeat


class Dispatcher(PumpLoop):
    """Starts workers for queued runs, reaps dead workers, and enforces cancellation after a grace period."""

    thread_name = "tlcore-dispatcher"

    def __init__(self, store: RunStore, *, max_workers: int | None = None, cancel_grace_s: float = 10.0,
                 recover_every_s: float = 5.0, idle_grace_s: float = 10.0, python: str = sys.executable,
                 standby: bool = False, standby_stale_s: float = 60.0, linger_s: float = 0.0,
                 standby_warm: str | None = None) -> None:
        self.store = store
        self.max_workers = max_workers or default_max_workers()
        self.cancel_grace_s = cancel_grace_s
        self.idle_grace_s = idle_grace_s
        self.python = python
        self._procs: dict[int, subprocess.Popen] = {}  # our live workers, by pid
        self._gpus: dict[int, str | None] = {}
        self._cancel_seen: dict[tuple[int, str], float] = {}
        self._idle_since: dict[int, float] = {}
        self.standby = standby
        # started with no run, idle by design until they claim one: pid → when last seen well (wall clock)
        self._standby_pids: dict[int, float] = {}
        self.standby_stale_s = standby_stale_s
        self.linger_s = linger_s  # how long our standby worker stays after this process is gone
        self.standby_warm = standby_warm or ""  # what it imports while it waits ("": all; `tlcore.runs.worker`)
        self.key = worker_key() if standby else None  # what a waiting worker needs to take our runs
        self._standby_started = float("-inf")
        self._pumped = False
        self.recover_every_s = recover_every_s
        self._last_recover = float("-inf")
        self._lock = threading.Lock()
        super().__init__()

    @property
    def worker_pids(self) -> list[int]:
        return list(self._procs)

    def recover(self) -> list[str]:
        """Mark runs whose worker is gone (crash, kill, server restart) as interrupted.

        Concurrency is counted in the store, so one dead worker left 'running' would block every queue
        sharing the data directory; `pump` therefore also calls this every `recover_every_s`.
        """
        self._last_recover = time.monotonic()
        orphans = self.store.recover_orphans(
            lambda run: run.pid in self._procs or is_worker_alive(run.pid, since=run.started))
        for run_id in orphans:
            discard_artifacts(run_id)
        return orphans

    def pump(self) -> None:
        with self._lock:
            self._reap()
            if time.monotonic() - self._last_recover >= self.recover_every_s:
                self.recover()
            active = self.store.active_runs(executor="local")  # a Ray run's pid is a process on another node
            self._enforce_cancels(runs_by_pid(active))
            self._drop_hung_standby(runs_by_pid(active))
            # workers another command left waiting (only a command's dispatcher uses them: see `linger_s`)
            waiting = waiting_workers(exclude={*self._procs, *runs_by_pid(active)}) if self.linger_s > 0 else {}
            self._start_queued(active, waiting)
            if self._wants_standby(active, waiting):
                self._standby_started = time.monotonic()
                self._spawn(None)
            self._pumped = True

    def _wants_standby(self, active: list[RunRecord], waiting: dict[int, str]) -> bool:
        """A standby worker, if none of ours is there, a slot is free and no worker with our key waits; a command
        (`linger_s`) starts it at its first pump only, before its check: later, its run is taken or started."""
        if not self.standby or self._procs or len(active) >= self.max_workers or self.key in waiting.values():
            return False
        if self.linger_s > 0 and self._pumped:
            return False
        return time.monotonic() - self._standby_started >= STANDBY_RESPAWN_S

    def _start_queued(self, active: list[RunRecord], waiting: dict[int, str]) -> None:
        """Fill free slots in FIFO order. The active runs count the busy slots, and our workers between two runs
        or on standby count too: the first queued runs are theirs (they claim them themselves: starting another
        process for one would waste the warm one), the next fill the slots left. So do `waiting` workers another
        process left (pid → key): each is left the first run queued with its key. A run such a worker has not
        taken within `standby_stale_s` of being queued (the worker is slow or stuck) goes to a free slot."""
        idle, theirs = self._idle_workers(runs_by_pid(active)), Counter(waiting.values())
        free, now, startable = self.max_workers - len(active) - idle, time.time(), []
        for run in self.store.queued():
            fresh = now - run.created <= self.standby_stale_s
            if fresh and idle > 0:
                idle -= 1  # one of our warm workers takes it
            elif fresh and theirs[run.worker_key] > 0:
                theirs[run.worker_key] -= 1  # a waiting worker another command left takes it, in a slot of ours
                free -= 1
            else:
                startable.append(run)
        for run in startable[:max(0, free)]:
            if not self.store.claim(run.id, max_active=self.max_workers):
                return  # a worker or another dispatcher took it, or filled the last slot: look again next pump
            self._spawn(run.id)

    def _idle_workers(self, by_pid: dict[int, list[RunRecord]]) -> int:
        """Our live workers on no run, counted for `idle_grace_s` (a worker that hangs there stops counting)."""
        now, idle = time.monotonic(), 0
        for pid in self._procs:
            if by_pid.get(pid):
                self._idle_since.pop(pid, None)
            elif pid in self._standby_pids or now - self._idle_since.setdefault(pid, now) < self.idle_grace_s:
                idle += 1
        return idle

    def _drop_hung_standby(self, by_pid: dict[int, list[RunRecord]]) -> None:
        """A standby worker counts as waiting only while it shows it: its heartbeat file, its last run or its
        start (plus STANDBY_WARMUP_S to import) at most `standby_stale_s` ago. One that stopped showing it
        (hung, or frozen by the OS) would hold a worker slot for ever: it is killed (it holds no run), and a
        fresh one follows within STANDBY_RESPAWN_S."""
        now = time.time()
        for pid, seen in list(self._standby_pids.items()):
            try:
                beat = heartbeat_path(pid).stat().st_mtime
                seen = beat if seen > now else max(seen, beat)  # the first heartbeat ends the warm-up grace
            except OSError:
                pass
            self._standby_pids[pid] = seen = max(seen, now) if by_pid.get(pid) else seen  # keeps a warm-up's grace
            if now - seen > self.standby_stale_s:
                log.warning("the standby worker %s has not polled for %.0f s: stopping it", pid, now - seen)
                self._procs[pid].kill()
                self._procs[pid].wait(timeout=10)
                self._reap()

    def _spawn(self, run_id: str | None) -> None:
        """A worker for `run_id` (already claimed), or with None a standby worker that claims runs itself."""
        env = dict(os.environ, TLAB_MAX_WORKERS=str(self.max_workers),  # the limit its next claims respect
                   TLAB_STANDBY_PARENT=str(os.getpid()),  # a standby worker leaves when this process is gone…
                   TLAB_WORKER_LINGER_S=str(self.linger_s), TLAB_STANDBY_WARM=self.standby_warm)  # …or later
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        gpu = self._free_gpu()
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"], env["TLAB_ASSIGNED_GPU"] = gpu, "1"  # (not part of its worker key)
        try:
            path = log_path(run_id or "standby")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as stderr:  # import errors and crashes before logging starts land here
                proc = subprocess.Popen([self.python, "-m", "tlcore.runs.worker", run_id or STANDBY], env=env,
                                        cwd=PACKAGE_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=stderr, start_new_session=True)
        except OSError as exc:
            if run_id:
                self.store.finish(run_id, "failed", error=f"Could not start a worker process ({exc}).")
            else:
                log.warning("could not start a standby worker: %s", exc)
            return
        lower_priority(proc.pid)  # now, so that its imports already run below the server or command
        if run_id:
            self.store.set_pid(run_id, proc.pid)
        else:  # a heartbeat left by an earlier process with this pid (terminated before it could remove it) is not its
            heartbeat_path(proc.pid).unlink(missing_ok=True)
            self._standby_pids[proc.pid] = time.time() + STANDBY_WARMUP_S
        self._procs[proc.pid], self._gpus[proc.pid] = proc, gpu
        log.info("started run %s as pid %s on %s", run_id, proc.pid, f"GPU {gpu}" if gpu else "the CPU")

    def _free_gpu(self) -> str | None:
        """One worker per GPU: give each new worker a GPU none of ours is using (None without CUDA)."""
        if os.environ.get("CUDA_VISIBLE_DEVICES") is not None or self.max_workers < 2:
            return None  # the host pinned devices itself, or there is one worker and it sees every GPU
        used = set(self._gpus.values())
        free = [str(i) for i in range(cuda_device_count()) if str(i) not in used]
        return free[0] if free else None

    def _reap(self) -> None:
        """Forget exited workers; the run a dead worker was on ends failed, with why (cancelled if asked)."""
        dead = {pid: code for pid, proc in self._procs.items() if (code := proc.poll()) is not None}
        if not dead:
            return
        for pid in dead:
            del self._procs[pid]
            self._gpus.pop(pid, None)
            self._idle_since.pop(pid, None)
            self._standby_pids.pop(pid, None)
            heartbeat_path(pid).unlink(missing_ok=True)
        self._cancel_seen = {key: t for key, t in self._cancel_seen.items() if key[0] not in dead}
        for run in self.store.active_runs(executor="local"):
            if run.pid not in dead:
                continue
            discard_artifacts(run.id)
            if run.cancel_requested:
                self.store.finish(run.id, "cancelled", error="Cancelled by the user.")
            else:
                self.store.finish(run.id, "failed", error=f"The worker process stopped unexpectedly "
                                  f"({describe_exit(dead[run.pid])}); the run was not finished. Start it again.")

    def _enforce_cancels(self, by_pid: dict[int, list[RunRecord]]) -> None:
        """A run whose cancel flag its loop has not honoured within the grace period: terminate, then kill,
        the process it is on (the clock is per run, so a worker that moved on is left alone)."""
        now, seen = time.monotonic(), {}
        for pid, proc in self._procs.items():
            for run in by_pid.get(pid, ()):
                if not run.cancel_requested:
                    continue
                first = seen[(pid, run.id)] = self._cancel_seen.get((pid, run.id), now)
                if now - first > 2 * self.cancel_grace_s:
                    proc.kill()
                elif now - first > self.cancel_grace_s:
                    proc.terminate()
        self._cancel_seen = seen

    def stop(self) -> None:
        """Stop pumping; our standby workers are asked to leave (`LEAVE_WHEN_IDLE`), unless they are to linger. A
        worker reads the request between two runs (or imports), so one on a run, even a run it claimed in that
        instant, finishes it first; one that has hung (`_drop_hung_standby`) is killed, as it would read nothing."""
        self.standby = False
        self.stop_pumping()
        if self.linger_s > 0:
            return
        with self._lock:
            self._drop_hung_standby(runs_by_pid(self.store.active_runs(executor="local")))
            for pid in self._standby_pids:
                self._procs[pid].send_signal(LEAVE_WHEN_IDLE)  # a no-op once it has exited

    def cancel(self, run_id: str, *, owner: Scope) -> str | None:
        """Set the run's cancel flag (what the pages do); its loop reads it, and `pump` enforces it."""
        return self.store.request_cancel(run_id, owner=owner)

    def terminate_all(self, run_ids: Iterable[str] | None = None) -> None:
        """Cancel runs and stop our workers on them (Ctrl-C in the CLI): `run_ids` are the caller's runs (a
        warm worker that moved on to someone else's run is left to finish it); None means all of ours."""
        mine = None if run_ids is None else set(run_ids)
        with self._lock:
            by_pid = runs_by_pid(self.store.active_runs(executor="local"))
            stopping = [proc for pid, proc in self._procs.items()
                        if mine is None or all(run.id in mine for run in by_pid.get(pid, ()))]
            for proc in stopping:
                for run in by_pid.get(proc.pid, ()):
                    self.store.request_cancel(run.id, owner=EVERYONE)
                proc.terminate()
            for proc in stopping:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self._reap()
            if mine is not None:
                self._stop_others_on(mine, by_pid)

    def _stop_others_on(self, run_ids: set[str], by_pid: dict[int, list[RunRecord]]) -> None:
        """The caller's runs on a worker another command left (ours to stop, not to reap): stop that process and
        end its runs cancelled, as `_reap` does for our workers."""
        for pid, runs in by_pid.items():
            if pid in self._procs or not all(run.id in run_ids for run in runs) or not is_worker_alive(pid):
                continue
            stop_process(pid)
            for run in runs:
                discard_artifacts(run.id)
                self.store.finish(run.id, "cancelled", error="Cancelled by the user.")
