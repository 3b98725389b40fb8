"""Recording how a run ended, wherever it trained: the local worker writes its own result, the Ray executor
writes the result a node sent back. Light on purpose (no torch): a Ray app server imports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tlcore.runs.paths import discard_artifacts
from tlcore.runs.store import RunStore


def record_success(store: RunStore, run_id: str, result: dict[str, Any], save: Callable[[], object]) -> str:
    """Artifacts first (`save` writes the run folder whole or not at all), then the row that says succeeded.
    If the row can no longer say so (cancelled or marked interrupted meanwhile), the artifacts go again: a run
    folder exists only for a succeeded row, and a succeeded row always has its folder."""
    save()
    if store.finish(run_id, "succeeded", result=result):
        return "succeeded"
    discard_artifacts(run_id)
    return store.status_of(run_id) or "missing"


def record_end(store: RunStore, run_id: str, status: str, error: str) -> str:
    """A run that did not succeed: no folder of it is left, and its row says why (unless it ended already)."""
    discard_artifacts(run_id)
    return status if store.finish(run_id, status, error=error) else (store.status_of(run_id) or "missing")
