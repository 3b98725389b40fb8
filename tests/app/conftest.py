"""The app tests' data directory: fresh for each test, with fresh engine objects (store, executor) and the
two test workspaces registered, and at most one worker (so a claimed run holds the queue)."""

import pytest
import streamlit as st

from tests.support.pages import WS_A, WS_B, register
from tlcore.runs.store import RunStore


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TLAB_MAX_WORKERS", "1")
    st.cache_resource.clear()
    register(RunStore(), WS_A, WS_B)
    yield tmp_path
    from components import engine  # the server's objects, made for this data directory by the pages
    engine.executor().stop()
    st.cache_resource.clear()
