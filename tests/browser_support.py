"""Where the tests find Chromium (Debian's package; Playwright's own download needs the internet), and how they
start the real Streamlit server."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path(os.environ.get("TLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def chromium_or_skip() -> tuple[str, list[str]]:
    """(executable, args) for `playwright.chromium.launch`, or skip the test with the reason."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (`make browser` or apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    return str(CHROMIUM), list(CHROMIUM_ARGS)


REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_app(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The real Streamlit server (`streamlit run app.py`) on a free port with its own data directory and extra
    environment; yields (url, process). Afterwards the server and the workers it started are stopped."""
    port = _free_port()
    full_env = {**os.environ, "TLAB_DATA_DIR": str(data_dir), "TLAB_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", **env}
    log_path = data_dir / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.headless", "true", "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log_path)
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            stop_workers(data_dir)


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the Streamlit server did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.5)


def stop_workers(data_dir: Path) -> None:
    """Workers run in their own session and outlive the server: stop the ones that use this data directory."""
    import psutil

    mine = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if "tlcore.worker" in (p.info["cmdline"] or []) and p.environ().get("TLAB_DATA_DIR") == str(data_dir):
                mine.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for p in mine:
        p.terminate()
    _, alive = psutil.wait_procs(mine, timeout=10)
    for p in alive:
        p.kill()
