"""Runs: the SQLite store, the dispatcher of worker processes, the worker itself and per-run artifacts."""

from tlcore.runs.dispatch import Dispatcher
from tlcore.runs.processes import is_worker_alive
from tlcore.runs.store import ACTIVE, EVERYONE, FINAL, RunRecord, RunStore

__all__ = ["ACTIVE", "EVERYONE", "FINAL", "Dispatcher", "RunRecord", "RunStore", "is_worker_alive"]
