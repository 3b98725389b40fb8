"""A run's progress on its way from a node to the server's store.

On the node, `RelayStore` is the `ProgressBoard` that tlcore's own `StoreSink` and `CancelFlag` write to and
read from; its writes queue up there until the server drains them (`take`) and replays them into the store
(`apply_ops`). Writes carry sequence numbers and the node forgets only what the server acknowledged, so a
server that died before applying a batch (or applies one twice) loses nothing and changes nothing.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tlcore.core.jsonutil import json_safe
from tlcore.runs.store import RunStore

log = logging.getLogger("tlcore.runs.ray")
Op = tuple[int, str, dict[str, Any]]  # (sequence number, store method, its keyword arguments)
# What a node may write, and the progress fields it may set: a node is not trusted to call arbitrary store
# methods, and one bad write must not wedge the relay.
RELAYED = ("update_progress", "add_epoch", "clear_epochs")
PROGRESS_FIELDS = {"step", "total_steps", "epoch", "eta_s", "message"}


class RelayStore:
    """Node side: stands in for the run store. Progress writes are coalesced (they are absolute values: the
    latest wins), so the queue stays small however fast the loop reports and however long nobody drains it."""

    def __init__(self) -> None:
        self._ops: list[Op] = []
        self._seq = 0
        self._lock = threading.Lock()
        self.cancel = threading.Event()

    def update_progress(self, run_id: str, **fields: Any) -> None:
        with self._lock:
            if self._ops and self._ops[-1][1] == "update_progress":
                fields = {**self._ops.pop()[2], **fields}  # re-sent under a new number: never half-applied
            self._push("update_progress", fields)

    def add_epoch(self, run_id: str, metrics: dict[str, Any]) -> None:
        with self._lock:
            self._push("add_epoch", {"metrics": json_safe(metrics)})

    def clear_epochs(self, run_id: str) -> None:
        with self._lock:
            self._push("clear_epochs", {})

    def cancel_requested(self, run_id: str) -> bool:
        return self.cancel.is_set()

    def _push(self, method: str, kwargs: dict[str, Any]) -> None:
        self._seq += 1
        self._ops.append((self._seq, method, kwargs))

    def take(self, acked: int) -> list[Op]:
        """Forget what the server acknowledged (sequence numbers up to `acked`); return the rest."""
        with self._lock:
            self._ops = [op for op in self._ops if op[0] > acked]
            return list(self._ops)


def apply_ops(store: RunStore, run_id: str, ops: list[Op]) -> int:
    """Replay drained writes into the store in one transaction; returns the last sequence number seen. Each
    write is idempotent (progress overwrites, epochs are keyed by number), so applying a batch twice is harmless."""
    last = 0
    with store.batch():
        for seq, method, kwargs in ops:
            last = max(last, seq)
            if method not in RELAYED:
                log.warning("run %s: ignoring a relayed %r", run_id, method)
            elif method == "update_progress":
                fields = {k: v for k, v in kwargs.items() if k in PROGRESS_FIELDS}
                if fields:
                    store.update_progress(run_id, **fields)
            elif method == "add_epoch" and "epoch" in kwargs.get("metrics", {}):
                store.add_epoch(run_id, kwargs["metrics"])
            elif method == "clear_epochs":
                store.clear_epochs(run_id)
    return last
