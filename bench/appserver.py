"""The real app server for measurements and browser tests: `streamlit run app.py` on a free port, with its
own data directory, stopped afterwards together with the worker processes it started.

One implementation for `bench/ui.py` and the browser tests (tests/browser_support.py), so that what the
bench times and what the tests drive is started the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Debian's Chromium: Playwright's own browser download needs the internet.
CHROMIUM = Path(os.environ.get("TLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


class ServerDidNotStart(RuntimeError):
    """The server exited or did not answer its health check; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, env: dict[str, str] | None = None, *, log_name: str = "server.log",
                start_timeout_s: float = 90) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield (url, process) of a healthy server using `data_dir`; `env` overrides the inherited environment
    (a value of "" removes the variable). Offline, as on the machines this runs on."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "TLAB_DATA_DIR": str(data_dir), "TLAB_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v != ""}
    port = free_port()
    log_path = data_dir / log_name
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.headless", "true", "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log_path, start_timeout_s)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            stop_workers(data_dir)


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            what = "exited at start-up" if proc.poll() is not None else f"did not answer within {timeout_s:.0f} s"
            raise ServerDidNotStart(f"the Streamlit server {what}:\n" + log_path.read_text()[-3000:])
        time.sleep(0.5)


def worker_processes(data_dir: Path) -> list:
    """The live `tlcore.runs.worker` processes that use this data directory (psutil processes)."""
    import psutil

    mine = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if ("tlcore.runs.worker" in (p.info["cmdline"] or []) and p.environ().get("TLAB_DATA_DIR") == str(data_dir)
                    and p.status() != psutil.STATUS_ZOMBIE):
                mine.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return mine


def stop_workers(data_dir: Path) -> None:
    """Workers run in their own session and outlive the server: stop the ones that use this data directory."""
    import psutil

    mine = worker_processes(data_dir)
    for p in mine:
        p.terminate()
    _, alive = psutil.wait_procs(mine, timeout=10)
    for p in alive:
        p.kill()
