"""Run store (SQLite), job dispatch to worker processes, and per-run artifacts."""

from tlcore.runs.jobs import Dispatcher, is_worker_alive
from tlcore.runs.store import ACTIVE, FINAL, RunRecord, RunStore

__all__ = ["ACTIVE", "FINAL", "Dispatcher", "RunRecord", "RunStore", "is_worker_alive"]
