"""Training and analysis processes run at a lower priority than the server or command that started them
(`TLAB_WORKER_NICE` steps), so the pages stay responsive on a shared CPU and a command's own work comes first.

The starter lowers a new process's priority right after starting it, so that the child's imports (seconds of
CPU) already run at it; `preexec_fn` would do it before exec but is unsafe in a server's threads.
"""

from __future__ import annotations

import psutil

from tlcore.core import settings

NICEST = 19


def lower_priority(pid: int, below: int | None = None) -> None:
    """Make process `pid` `TLAB_WORKER_NICE` steps nicer than process `below` (default: this one); never raises
    a priority, so a process lowered by its starter and again by itself ends at the same level."""
    try:
        base = psutil.Process(below).nice() if below else psutil.Process().nice()
        proc = psutil.Process(pid)
        proc.nice(max(proc.nice(), min(NICEST, base + settings.worker_nice())))
    except (psutil.Error, OSError):  # gone already, or a platform that does not allow it: only speed is lost
        pass
