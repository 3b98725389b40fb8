"""Which processes are workers, which runs each is on, and which standby workers wait for runs in this data
directory: the dispatcher's own, and those that outlived the command that started them (`TLAB_WORKER_LINGER_S`),
seen through the heartbeat file each touches while it waits, which holds its worker key."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

import psutil

from tlcore.runs.paths import heartbeat_path
from tlcore.runs.store import RunRecord

# A run's `started` is set after its worker process exists; allow for clock steps between the two clocks
# (psutil derives a process's start from boot time) before calling a younger process with its pid a stranger.
PID_CLOCK_SLACK_S = 60.0
EXEC_GRACE_S = 5.0  # a process forked this recently may not have exec'd `python -m tlcore.runs.worker` yet
LEAVE_WHEN_IDLE = signal.SIGUSR1  # to a standby worker: take no further run, finish the one you are on, and leave
WARM_ALL, WARM_FROZEN = "all", "frozen"  # what a standby worker imports while it waits (`tlcore.runs.worker`)


def is_worker_alive(pid: int, since: float | None = None) -> bool:
    """True if `pid` is a live `tlcore.runs.worker` process that already existed at time `since` (when the run
    was handed to it). A warm worker runs several runs in turn, so the run id is not in its command line;
    a reused pid belongs to another program, or to a process started after the run's worker died."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if since is not None and proc.create_time() > since + PID_CLOCK_SLACK_S:
            return False
        return "tlcore.runs.worker" in proc.cmdline() or time.time() - proc.create_time() < EXEC_GRACE_S
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # a hardened /proc hides other users' processes: assume it is ours
        return True


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def runs_by_pid(runs: Iterable[RunRecord]) -> dict[int, list[RunRecord]]:
    grouped: dict[int, list[RunRecord]] = {}
    for run in runs:
        if run.pid:
            grouped.setdefault(run.pid, []).append(run)
    return grouped


HEARTBEAT_FRESH_S = 5.0  # a waiting worker touches its heartbeat every STANDBY_POLL_S; allow for a busy CPU


def waiting_workers(exclude: Iterable[int] = ()) -> dict[int, str]:
    """pid → worker key of each standby worker (not in `exclude`) whose heartbeat says it waits for a run now.

    A stale heartbeat whose process is no longer a live worker is deleted on the way: a worker removes its own
    when it leaves, but one that was killed (SIGKILL, out of memory, a machine reset) cannot."""
    folder, now, found, excluded = heartbeat_path(0).parent, time.time(), {}, set(exclude)
    for path in folder.glob("standby-*.alive") if folder.is_dir() else ():
        pid = int(path.stem.removeprefix("standby-")) if path.stem.removeprefix("standby-").isdigit() else 0
        try:
            fresh, key = now - path.stat().st_mtime <= HEARTBEAT_FRESH_S, path.read_text().strip()
        except OSError:  # it left meanwhile
            continue
        if not fresh and not (pid and is_worker_alive(pid)):
            path.unlink(missing_ok=True)
        elif pid and pid not in excluded and fresh and key:
            found[pid] = key
    return found


def stop_process(pid: int, grace_s: float = 10.0) -> None:
    """Terminate a process that is not our child (a worker another command left), killing it after `grace_s`."""
    try:
        proc = psutil.Process(pid)
        proc.terminate()
        proc.wait(timeout=grace_s)
    except psutil.TimeoutExpired:
        proc.kill()
    except psutil.NoSuchProcess:
        pass


def beat(pid: int, key: str) -> None:
    """A waiting standby worker's heartbeat: the file holds its key; each beat moves its modification time."""
    path = heartbeat_path(pid)
    try:
        if path.stat().st_size:
            os.utime(path)
            return
    except FileNotFoundError:  # never written, or deleted meanwhile as stale (see `waiting_workers`)
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key)
