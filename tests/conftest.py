"""Shared test setup: never touch the network, and keep every run, cache and store in a temporary folder."""

from __future__ import annotations

import os

import pytest

os.environ["TLAB_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TLAB_WORKER_NICE", "0")


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """One data directory for the whole session, so decoded images and features are cached across tests."""
    path = tmp_path_factory.mktemp("tlab-data")
    old = os.environ.get("TLAB_DATA_DIR")
    os.environ["TLAB_DATA_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TLAB_DATA_DIR", None)
    else:
        os.environ["TLAB_DATA_DIR"] = old
