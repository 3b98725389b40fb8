"""The server side's state and the two ends of a run's way: handing it to a worker, and recording its outcome.

Everything here runs in the pumping thread under the executor's lock; every Ray call is non-blocking
(`.remote()`), and only results that have come back are fetched.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict, deque
from typing import Any

import ray
from ray.exceptions import RayError

from tlcore.runs.paths import log_path
from tlcore.runs.ray.actor import NodeInfo, Outcome, RunPayload
from tlcore.runs.ray.packing import install_artifacts
from tlcore.runs.ray.pool import Tracked, WorkerPool, kill_actor, resources, shape
from tlcore.runs.ray.relay import apply_ops
from tlcore.runs.ray.settings import RaySettings
from tlcore.runs.ray.shipping import DataShipper
from tlcore.runs.recording import record_end, record_success
from tlcore.runs.store import EVERYONE, RunRecord, RunStore

log = logging.getLogger("tlcore.runs.ray")
KEEP_OUTCOMES = 200


class RayCore:
    def __init__(self, store: RunStore, settings: RaySettings) -> None:
        self.store = store
        self.settings = settings
        self.server = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this server in placements
        self.shipper = DataShipper()
        self.pool = WorkerPool(settings)
        self._tracked: dict[str, Tracked] = {}
        self._stopping = False
        self._lock = threading.RLock()
        self.events: deque[tuple[float, str, str]] = deque(maxlen=2000)  # (time, run id, what happened)
        self.outcomes: OrderedDict[str, Outcome] = OrderedDict()  # the last outcomes (without their files)

    # -- handing a run to a worker ---------------------------------------------------------------------
    def _launch(self, record: RunRecord, attempt: int, worker: str, actor: Any | None = None) -> None:
        """Start `record` on `actor` (a warm worker), or on a new worker named `worker`."""
        ask = resources(record.config, self.settings, ray.cluster_resources())
        try:
            shipment = self.shipper.ship(record.config["data"])
            handle = actor if actor is not None else self.pool.create(worker, ask)
        except (OSError, ValueError, RayError) as exc:  # e.g. its data became unreadable
            if actor is not None:
                kill_actor(actor)
            record_end(self.store, record.id, "failed", f"Could not start the run on the Ray cluster ({exc}).")
            self.store.attempt_ended(record.id, "failed")
            self._note(record.id, f"launch failed: {exc}")
            return
        payload = RunPayload(record.id, record.config, shipment, attempt)
        t = Tracked(record.id, handle, worker, attempt, shape(ask), payload, reused=actor is not None,
                    new_worker=actor is None)
        t.calls = {"start": handle.start.remote(payload), "outcome": handle.outcome.remote(record.id)}
        self._tracked[record.id] = t
        self._note(record.id, f"attempt {attempt} on {'warm' if t.reused else 'new'} worker {worker}")

    def _started(self, t: Tracked, node: NodeInfo) -> None:
        t.node, t.unreachable_since = node, None
        self.store.placed(t.run_id, node=node.ip, node_id=node.node_id, pid=node.pid)
        self._note(t.run_id, f"running on {node.ip} (pid {node.pid})")

    def _lost(self, t: Tracked, exc: Exception) -> None:
        """A run's worker is gone for good; `recovery.Recovery` decides what follows."""
        raise NotImplementedError

    # -- recording how it ended --------------------------------------------------------------------------
    def _finished(self, t: Tracked, outcome: Outcome) -> None:
        """Last progress, the log, the run folder, then the final row (tlcore's own `record_success`)."""
        if t.node is None:
            self._started(t, outcome.node)
        apply_ops(self.store, t.run_id, outcome.ops)
        self._append_log(t.run_id, outcome.log)
        status = outcome.status
        if status == "succeeded":
            try:
                status = record_success(self.store, t.run_id, outcome.result or {},
                                        lambda: install_artifacts(t.run_id, outcome.artifacts or b""))
            except (OSError, ValueError) as exc:
                status = record_end(self.store, t.run_id, "failed",
                                    f"The trained model could not be saved on the server ({exc}).")
        else:
            status = record_end(self.store, t.run_id, status, outcome.error or "")
        self.store.attempt_ended(t.run_id, status)
        self._note(t.run_id, f"{status} on {outcome.node.ip} (data {'fetched' if outcome.data_fetched else 'cached'})")
        self._keep(t.run_id, dataclasses.replace(outcome, artifacts=None, ops=[], log=""))
        del self._tracked[t.run_id]
        waiting = self._waiting_for_a_node(t.shape)
        if waiting is not None and not t.killed and not self._stopping:
            self._move(waiting, t.worker, t.actor)
        else:
            self.pool.keep_or_kill(t, self._stopping)

    def _waiting_for_a_node(self, wanted: tuple[tuple[str, float], ...] | None = None) -> Tracked | None:
        """A run of ours on a worker created for it that no node has taken yet (of the shape `wanted`, when
        given). Not a run taken over from another server: its worker is on a node, and may be training it."""
        return next((t for t in self._tracked.values() if t.node is None and t.new_worker and not t.killed
                     and wanted in (None, t.shape)), None)

    def _move(self, t: Tracked, worker: str, actor: Any | None, *, attempt: int | None = None) -> None:
        """Start `t`'s run again on another worker (a warm one, when `actor` is given), in the same attempt unless
        told otherwise. A run waiting for a new worker moves to a warm one as soon as there is one: the warm
        one holds resources that the new one may be waiting for."""
        record = self.store.get(t.run_id, owner=EVERYONE)
        self._forget(t)
        if record is not None and not record.is_final:
            self.store.relaunched(t.run_id, worker=worker, attempt=attempt or t.attempt)
            self._launch(record, attempt or t.attempt, worker, actor)

    def _keep(self, run_id: str, outcome: Outcome) -> None:
        self.outcomes[run_id] = outcome
        while len(self.outcomes) > KEEP_OUTCOMES:
            self.outcomes.popitem(last=False)

    def _end(self, t: Tracked, status: str, *, error: str) -> None:
        """End a run that will not come back from its worker (lost, cancelled, never placed)."""
        record_end(self.store, t.run_id, status, error)
        self.store.attempt_ended(t.run_id, status)
        self._note(t.run_id, f"{status}: {error}")
        self._forget(t)

    def _forget(self, t: Tracked) -> None:
        self._kill(t)
        if self._tracked.get(t.run_id) is t:
            del self._tracked[t.run_id]

    def _kill(self, t: Tracked) -> None:
        t.killed = True
        kill_actor(t.actor)

    @staticmethod
    def _append_log(run_id: str, text: str) -> None:
        if text:
            path = log_path(run_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a") as f:
                f.write(text)

    def _note(self, run_id: str, what: str) -> None:
        self.events.append((time.time(), run_id, what))
        log.info("run %s: %s", run_id, what)
