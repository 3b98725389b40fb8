"""How every executor is driven: `pump()` rounds in a daemon thread (a long-lived server), or `wait()` pumping
until some runs are final (the command line, tests)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from tlcore.runs.store import EVERYONE, RunRecord, RunStore

log = logging.getLogger("tlcore.jobs")


class PumpLoop:
    """Subclasses implement `pump()`: one round of work that never blocks for long."""

    store: RunStore
    thread_name = "tlcore-executor"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def pump(self) -> None:
        raise NotImplementedError

    def start(self, interval_s: float = 0.5) -> PumpLoop:
        """Pump in a daemon thread (for a long-lived server)."""
        if self._thread and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval_s,), name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def _run(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.pump()
            except Exception:  # a transient store or cluster error must not kill the thread
                log.exception("%s: pump failed", self.thread_name)
            self._stop.wait(interval_s)

    def stop_pumping(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=timeout_s)

    def wait(self, run_ids: Iterable[str], *, poll_s: float = 0.5, timeout_s: float | None = None,
             on_poll: Callable[[list[RunRecord]], None] | None = None) -> list[RunRecord]:
        """Pump until every run in `run_ids` is final (for the CLI and tests); TimeoutError after `timeout_s`."""
        run_ids = list(run_ids)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished after {timeout_s} s: {run_ids}")
            self.pump()
            records = [self.store.get(r, owner=EVERYONE) for r in run_ids]
            if on_poll:
                on_poll(records)
            if all(r is None or r.is_final for r in records):
                return records
            time.sleep(poll_s)
