"""The engine objects a Streamlit server shares between sessions: one run store, one dispatcher.

The dispatcher starts worker processes (never `multiprocessing`, which would re-import the page script)
and keeps pumping in a daemon thread, so runs go on while people switch pages or close the tab.
"""

from __future__ import annotations

import streamlit as st

from tlcore.core import settings
from tlcore.data import Dataset, load_source
from tlcore.experiments import estimate
from tlcore.experiments.calibration import Calibration
from tlcore.runs import Dispatcher, RunStore
from tlcore.train.defaults import device_description


def store() -> RunStore:
    return _store(str(settings.data_dir()))


def dispatcher() -> Dispatcher:
    """Started once per server (and data directory); recovers runs orphaned by a previous server first."""
    return _dispatcher(str(settings.data_dir()))


@st.cache_resource(show_spinner=False)
def _store(data_dir: str) -> RunStore:
    return RunStore()


@st.cache_resource(show_spinner=False)
def _dispatcher(data_dir: str) -> Dispatcher:
    d = Dispatcher(_store(data_dir))
    d.recover()
    return d.start()


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
