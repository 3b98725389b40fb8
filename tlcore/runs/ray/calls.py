"""Collecting what the workers answered, without waiting: `start` (where the run is), `drain` (its progress)
and `outcome` (how it ended). A worker that cannot be reached for a moment is asked again; one that is gone
for good is handed to `recovery`."""

from __future__ import annotations

import time
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayError, RayTaskError

from tlcore.runs.ray.core import RayCore
from tlcore.runs.ray.pool import CALLS, Tracked
from tlcore.runs.ray.relay import apply_ops

GET_TIMEOUT_S = 10.0  # fetching a result that is ready (a run folder of a few MB); longer: try next round
RETRY_UNREACHABLE_S = 1.0


class Calls(RayCore):
    def _collect(self) -> None:
        """Handle every call that has come back: starts, then drains, then outcomes (so a run is marked running
        before its progress lands, and its last progress before its final state)."""
        pending = [(CALLS.index(kind), t, kind, ref) for t in self._tracked.values() for kind, ref in t.calls.items()]
        if not pending:
            return
        ready, _ = ray.wait([p[3] for p in pending], num_returns=len(pending), timeout=0, fetch_local=False)
        came_back = set(ready)
        for _, t, kind, ref in sorted((p for p in pending if p[3] in came_back), key=lambda p: p[0]):
            if self._tracked.get(t.run_id) is t and t.calls.get(kind) is ref:  # not ended earlier this round
                self._receive(t, kind, ref)

    def _receive(self, t: Tracked, kind: str, ref: Any) -> None:
        try:
            value = ray.get(ref, timeout=GET_TIMEOUT_S)
        except GetTimeoutError:
            return  # ready, but not transferred yet: next round
        except ActorUnavailableError as exc:
            self._unreachable(t, kind, exc)
            return
        except RayTaskError as exc:  # the worker refused the call (it could not fetch the run's data)
            self._end(t, "failed", error=str(exc.cause) if exc.cause else first_line(exc))
            return
        except RayError as exc:  # the worker died, or its result was lost with its node
            self._lost(t, exc)
            return
        del t.calls[kind]
        t.unreachable_since = None
        if kind == "start":
            self._started(t, value)
        elif kind == "drain":
            t.acked = max(t.acked, apply_ops(self.store, t.run_id, value))
        else:
            self._finished(t, value)

    def _unreachable(self, t: Tracked, kind: str, exc: Exception) -> None:
        """The worker cannot be reached right now (its node is dying, or the network hiccups). Ray fails the calls
        in flight at once, but only the cluster's health checks decide that a node is dead (a later call then
        fails with ActorDiedError). Until then: ask again a little later."""
        if t.unreachable_since is None:
            t.unreachable_since = time.monotonic()
            self._note(t.run_id, f"worker unreachable ({first_line(exc)}); waiting for the cluster's verdict")
        del t.calls[kind]
        if kind == "drain":
            t.last_drain = time.monotonic() + RETRY_UNREACHABLE_S
        else:
            t.retry_at[kind] = time.monotonic() + RETRY_UNREACHABLE_S

    def _reissue(self) -> None:
        """Ask again what was dropped while a worker was unreachable (`start` and `outcome` are idempotent)."""
        now = time.monotonic()
        for t in self._tracked.values():
            for kind, at in list(t.retry_at.items()):
                if now < at:
                    continue
                del t.retry_at[kind]
                if kind == "outcome":
                    t.calls[kind] = t.actor.outcome.remote(t.run_id)
                elif t.node is None:
                    t.calls[kind] = t.actor.start.remote(t.payload)

    def _request_drains(self) -> None:
        now = time.monotonic()
        for t in self._tracked.values():
            if t.node is not None and "drain" not in t.calls and now - t.last_drain >= self.settings.drain_every_s:
                t.calls["drain"], t.last_drain = t.actor.drain.remote(t.run_id, t.acked), now


def first_line(exc: Exception) -> str:
    """The line of a Ray error that says what happened (its messages run to many lines)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    telling = [ln for ln in lines if "died" in ln or "node" in ln.lower() or "killed" in ln]
    return (telling or lines or [type(exc).__name__])[0][:300]
