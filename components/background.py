"""Short analyses the pages start and poll: `python -m tlcore … --json` in a subprocess, one at a time.

Why a subprocess and not the run queue or a thread: a ranking is not a training run (no strategy, no run
record, nothing to compare or share), so it does not belong in the run store; and a cold ranking builds
several models and makes a frozen pass over the data (tens of seconds on a CPU), which must not run in the
Streamlit script thread nor load models into the server process. A subprocess is the worker pattern the
dispatcher uses (`subprocess`, never `multiprocessing`, which would re-import the page script); its result is
the command's own JSON, written next to the server's data, so every session asking the same question gets
the same answer. At most one such job runs per server, so it never competes with more than the training
workers for the CPUs.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from tlcore.core import settings
from tlcore.core.jsonutil import json_safe
from tlcore.runs.dispatch import PACKAGE_ROOT
from tlcore.runs.priority import lower_priority
from tlcore.runs.processes import describe_exit

POLL_S = 1.5


@dataclass
class JobState:
    status: str  # "idle", "running", "done" or "failed"
    message: str = ""  # the job's latest progress line, or why it failed
    result: dict[str, Any] | None = None


def job_key(argv: list[str]) -> str:
    return hashlib.sha256("\0".join(argv).encode()).hexdigest()[:20]


def _folder() -> Path:
    path = settings.data_dir() / "analyses"
    path.mkdir(parents=True, exist_ok=True)
    return path


@st.cache_resource(show_spinner=False)
def _running(data_dir: str) -> dict[str, subprocess.Popen]:
    jobs: dict[str, subprocess.Popen] = {}
    atexit.register(lambda: [p.terminate() for p in jobs.values() if p.poll() is None])
    return jobs


def busy_with_other(key: str) -> bool:
    """Another job is running on this server (the one-at-a-time limit)."""
    return any(k != key and p.poll() is None for k, p in _running(str(settings.data_dir())).items())


def start(argv: list[str]) -> str:
    """Start `python -m tlcore <argv> --json` unless it is already running; returns its key."""
    key = job_key(argv)
    jobs = _running(str(settings.data_dir()))
    if key in jobs and jobs[key].poll() is None:
        return key
    folder = _folder()
    for suffix in (".json", ".log"):
        (folder / f"{key}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])))
    with open(folder / f"{key}.part", "wb") as out, open(folder / f"{key}.log", "wb") as log:
        jobs[key] = subprocess.Popen([sys.executable, "-m", "tlcore", *argv, "--json"], stdout=out, stderr=log,
                                     stdin=subprocess.DEVNULL, cwd=PACKAGE_ROOT, env=env)
    lower_priority(jobs[key].pid)  # an analysis computes features as a run does
    return key


def save(argv: list[str], result: dict[str, Any]) -> None:
    """Keep a result computed in the page (a warm ranking) as if the job for `argv` had produced it."""
    key = job_key(argv)
    jobs = _running(str(settings.data_dir()))
    if key in jobs and jobs[key].poll() is not None:  # a running job is left alone: it writes the same result
        jobs.pop(key)
    saving = _folder() / f"{key}.saving"  # not `.part`, which a running job may be writing to
    saving.write_text(json.dumps(json_safe(result)))
    saving.replace(_folder() / f"{key}.json")


def state(argv: list[str]) -> JobState:
    """Where the job for `argv` stands: its result (also one finished in an earlier session), its progress,
    or why it failed."""
    key = job_key(argv)
    folder = _folder()
    proc = _running(str(settings.data_dir())).get(key)
    if proc is not None and proc.poll() is None:
        return JobState("running", _last_line(folder / f"{key}.log") or "Starting…")
    if proc is not None and proc.returncode == 0 and (folder / f"{key}.part").exists():
        (folder / f"{key}.part").replace(folder / f"{key}.json")
    done = _saved_result(folder / f"{key}.json")
    if isinstance(done, JobState):
        return done
    if proc is not None:  # the command's own one-line error, else how it ended (not its last progress line)
        last = _last_line(folder / f"{key}.log")
        reason = last.removeprefix("error: ") if last.startswith("error: ") else (
            f"it stopped before the end ({describe_exit(proc.returncode)})")
        return JobState("failed", reason)
    return JobState("idle")


def _saved_result(path: Path) -> JobState | None:
    """A finished job's result; a damaged file (a full disk, a crash mid-write) is removed and the job can be
    started again, instead of the page failing on it every time it is opened."""
    try:
        return JobState("done", result=json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        path.unlink(missing_ok=True)
        return JobState("failed", f"its saved result could not be read ({type(exc).__name__}); start it again")


def start_button(argv: list[str], label: str, key: str, help: str) -> bool:
    """A button for the job of `argv`; disabled, and saying why, while another job runs on this server."""
    busy = busy_with_other(job_key(argv))
    if busy:
        st.caption("Another analysis is running on this server; this one can start when it is done.")
    return st.button(label, key=key, disabled=busy, help=help)


def shown_state(argv: list[str], doing: str) -> JobState:
    """The job's state; while it runs, its progress (polled), and why it failed if it did."""
    job = state(argv)
    if job.status == "running":
        progress(argv, doing)
    elif job.status == "failed":
        st.error(f"{doing} failed: {job.message}")
    return job


@st.fragment(run_every=POLL_S)
def progress(argv: list[str], doing: str) -> None:
    """While the job for `argv` runs: its latest progress line, polled; once it ends, the whole page again."""
    job = state(argv)
    if job.status != "running":
        st.rerun()
    st.info(f"{doing}… {job.message}", icon=":material/hourglass_top:")


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""
