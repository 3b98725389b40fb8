"""One real server for the browser tests that drive the app as people do (test_browser, test_demo): each
server start costs 10-30 s on a busy machine. The load test starts its own, with its own settings."""

from __future__ import annotations

import pytest

from tests.support.browser import chromium_or_skip, serve_app


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """(url, data directory) of the real Streamlit server, started once for the session."""
    chromium_or_skip()
    data_dir = tmp_path_factory.mktemp("browser-data")
    # Runs started from the app stop training after 10 s (keeping their best epoch): the demo's six runs then
    # fit a shared, busy CPU; what these tests check does not depend on how long a run trained.
    with serve_app(data_dir, TLAB_APP_RUN_SECONDS="10", TLAB_STANDBY_WORKER="1") as (url, _):
        yield url, data_dir
