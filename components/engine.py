"""The engine objects a Streamlit server shares between sessions: one run store, one executor.

The executor (`TLAB_EXECUTOR`: worker processes here by default, or a Ray cluster) keeps pumping in a daemon
thread, so runs go on while people switch pages or close the tab. Local workers are processes started with
`subprocess`, never `multiprocessing`, which would re-import the page script.
"""

from __future__ import annotations

import atexit

import streamlit as st

from tlcore.core import settings
from tlcore.data import Dataset, load_source
from tlcore.experiments import estimate
from tlcore.experiments.calibration import Calibration
from tlcore.runs import RunStore
from tlcore.runs.executor import Executor, make_executor
from tlcore.train.defaults import device_description


def store() -> RunStore:
    return _store(str(settings.data_dir()))


def executor() -> Executor:
    """Started once per server (and data directory); takes over runs a previous server left first. Raises
    UserError when the configured executor cannot start (e.g. its Ray cluster cannot be reached)."""
    return _executor(str(settings.data_dir()))


@st.cache_resource(show_spinner=False)
def _store(data_dir: str) -> RunStore:
    return RunStore()


@st.cache_resource(show_spinner="Connecting to the workers…")
def _executor(data_dir: str) -> Executor:
    ex = make_executor(_store(data_dir), standby=settings.standby_worker())  # the first run starts at once
    ex.recover()
    atexit.register(ex.stop)  # a Ray executor hands its runs over at once instead of after its lease
    return ex.start()


@st.cache_resource(show_spinner="Reading the dataset…", max_entries=16)
def dataset(source: str, text_column: str | None = None, label_column: str | None = None,
            name: str | None = None) -> Dataset:
    """Datasets are read-only once loaded, so sessions can share them. `name` is the uploader's file name (part
    of the key: the same bytes uploaded by two workspaces under two names are two entries). The server only
    reads image headers; the worker that trains decodes every image."""
    return load_source(source, text_column=text_column, label_column=label_column, name=name)


@st.cache_data(show_spinner=False)
def device() -> str:
    return device_description()


def calibration() -> Calibration:
    """How long runs really took on this server against the throughput model, for the time estimates."""
    return _calibration(str(settings.data_dir()))


@st.cache_data(ttl=60, show_spinner=False)
def _calibration(data_dir: str) -> Calibration:
    """Re-read at most once a minute: it reads the latest finished runs' saved settings."""
    return estimate.calibration(_store(data_dir))
