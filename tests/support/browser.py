"""Where the tests find Chromium (Debian's package; Playwright's own download needs the internet), and how they
start the real Streamlit server."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.appserver import CHROMIUM, CHROMIUM_ARGS, ServerDidNotStart, running_app


def chromium_or_skip() -> tuple[str, list[str]]:
    """(executable, args) for `playwright.chromium.launch`, or skip the test with the reason."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (`make browser` or apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    return str(CHROMIUM), list(CHROMIUM_ARGS)


@contextlib.contextmanager
def serve_app(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """The real Streamlit server (`streamlit run app.py`) on a free port with its own data directory and extra
    environment; yields (url, process). Afterwards the server and the workers it started are stopped."""
    try:
        with running_app(data_dir, env, start_timeout_s=60) as (url, proc):
            yield url, proc
    except ServerDidNotStart as e:  # raised only before the yield
        pytest.fail(str(e))
