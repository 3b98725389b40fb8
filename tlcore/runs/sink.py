"""How a running run talks to the store: loop events become progress and epoch rows, and the loop's cancel
check reads the store's flag. Both are rate-limited, so a run that steps hundreds of times a second does
not write or read the database that often."""

from __future__ import annotations

import time
from typing import Any, Protocol


class ProgressBoard(Protocol):
    """Where a run's progress goes and its cancel flag comes from: the run store, or a relay to it."""

    def add_epoch(self, run_id: str, metrics: dict[str, Any]) -> None: ...

    def update_progress(self, run_id: str, **fields: Any) -> None: ...

    def clear_epochs(self, run_id: str) -> None: ...

    def cancel_requested(self, run_id: str) -> bool: ...


class StoreSink:
    """Turns loop events into store writes: epochs always, progress at most every `interval_s`."""

    def __init__(self, store: ProgressBoard, run_id: str, interval_s: float = 0.5) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval_s
        self._last = 0.0

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "epoch":
            self.store.add_epoch(self.run_id, {k: v for k, v in data.items()
                                               if k not in ("step", "total_steps", "eta_s")})
            self._progress(step=data["step"], total_steps=data["total_steps"], epoch=data["epoch"],
                           eta_s=data["eta_s"], message=f"Epoch {data['epoch']} done", force=True)
        elif kind == "start":
            self._progress(step=0, total_steps=data["total_steps"], message="Training", force=True)
        elif kind == "step":
            self._progress(step=data["step"], total_steps=data["total_steps"], epoch=data["epoch"] - 1,
                           eta_s=data["eta_s"], message=f"Training (epoch {data['epoch']})")
        elif kind == "phase":
            done, total = data["done"], data["total"]
            self._progress(message=f"{data['message']} ({done}/{total})" if total else data["message"],
                           force=done in (0, total))

    def _progress(self, force: bool = False, **fields: Any) -> None:
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.store.update_progress(self.run_id, **fields)


class CancelFlag:
    """Reads the store's cancel flag, at most every `interval_s` so the check costs nothing per step."""

    def __init__(self, store: ProgressBoard, run_id: str, interval_s: float = 0.25) -> None:
        self.store, self.run_id, self.interval = store, run_id, interval_s
        self._last, self._value = 0.0, False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._value and now - self._last >= self.interval:
            self._last = now
            self._value = self.store.cancel_requested(self.run_id)
        return self._value
