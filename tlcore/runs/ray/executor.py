"""`RayExecutor`: the server side of the Ray backend, behind the same interface as the local `Dispatcher`.

One `pump()` round: collect what the workers answered, renew this server's lease, now and then take over
the runs of silent servers, pass cancels on, fail runs no node took in time, ask running runs for their
progress, claim queued runs while the cluster has room, and let idle warm workers go.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import ray

from tlcore.runs.pumping import PumpLoop
from tlcore.runs.ray import settings as ray_settings
from tlcore.runs.ray.calls import Calls
from tlcore.runs.ray.core import RayCore
from tlcore.runs.ray.pool import ask_text, fits, resources, shape
from tlcore.runs.ray.recovery import Recovery
from tlcore.runs.ray.settings import RaySettings
from tlcore.runs.store import EVERYONE, RunRecord, RunStore, Scope


class RayExecutor(Calls, Recovery, PumpLoop):
    """Not thread-safe by itself: `pump` holds a lock, and `start()` pumps in one daemon thread."""

    thread_name = "tlcore-ray-executor"

    def __init__(self, store: RunStore, settings: RaySettings | None = None) -> None:
        RayCore.__init__(self, store, settings or RaySettings())
        PumpLoop.__init__(self)
        ray_settings.connect(self.settings)

    def pump(self) -> None:
        with self._lock:
            self._collect()
            self._reissue()
            if self._tracked:
                self.store.renew_lease(self.server)
            if time.monotonic() - self._last_recover >= self.settings.recover_every_s:
                self.recover()
            self._enforce_cancels()
            self._check_placement_timeouts()
            self._request_drains()
            self._start_queued()
            waiting = self._waiting_for_a_node()
            self.pool.prune(all_but=waiting.shape if waiting else None)
            self.shipper.retain({t.digest for t in self._tracked.values() if t.digest})

    def _start_queued(self) -> None:
        """Claim queued runs (oldest first) only while the cluster has room for them now. Ray would accept more,
        but a worker that waits for resources waits at one node, even when another node frees up first; the
        store's queue is also the one people see and cancel."""
        queue = self.store.queued()
        if not queue:
            return
        waiting = sum(1 for t in self._tracked.values() if t.node is None)
        free, total = ray.available_resources(), ray.cluster_resources()
        for record in queue:
            ask = resources(record.config, self.settings, total)
            if fits(ask, total) == 0:  # no node could ever take it: say so rather than wait
                self._refuse(record, ask)
                continue
            if waiting >= fits(ask, free) + self.pool.idle_count(shape(ask)):
                self.pool.prune(all_but=shape(ask))  # idle workers of other shapes hold what it needs
                return
            if not self._claim(record, ask):
                return
            waiting += 1

    def _claim(self, record: RunRecord, ask: dict[str, float]) -> bool:
        idle = self.pool.take(shape(ask))
        worker = idle.worker if idle else self.pool.new_name()
        if not self.store.claim_remote(record.id, server=self.server, worker=worker,
                                       max_active=self.settings.max_active or None):
            if idle:
                self.pool.put_back(idle)
            return False  # another server took it, or the limit is reached: look again next round
        self._launch(record, 1, worker, idle.actor if idle else None)
        return True

    def _refuse(self, record: RunRecord, ask: dict[str, float]) -> None:
        if self.store.claim_remote(record.id, server=self.server, worker="-"):
            self.store.finish(record.id, "failed", error=f"No node of the Ray cluster has {ask_text(ask)}; add "
                              "such a node, or train on the CPU.")

    def stop(self) -> None:
        """Stop pumping. Runs already on a node go on (their workers are detached) and our lease is released,
        so the next server takes them over at once. Runs not yet on a node are stopped and marked interrupted:
        their data is referenced from this process, which is going away."""
        self.stop_pumping(timeout_s=10)
        with self._lock:
            self._stopping = True
            self.pool.clear()
            for t in [t for t in self._tracked.values() if t.node is None]:
                self._end(t, "interrupted", error="The app server stopped before the run reached a node; start it "
                          "again.")
            self.store.release_lease(self.server)
            self._tracked.clear()
        ray_settings.disconnect()

    def cancel(self, run_id: str, *, owner: Scope) -> str | None:
        """The store's flag (what the pages set), passed on to the node now rather than at the next pump."""
        status = self.store.request_cancel(run_id, owner=owner)
        with self._lock:
            t = self._tracked.get(run_id)
            if status and t is not None and t.node is not None and t.cancel_sent is None:
                t.actor.cancel.remote(run_id)
                t.cancel_sent = time.monotonic()
        return status

    def terminate_all(self, run_ids: Iterable[str] | None = None) -> None:
        """Cancel runs (all of ours, or `run_ids`) and pump until ours have ended (killed after the grace)."""
        with self._lock:
            ids = list(self._tracked) if run_ids is None else list(run_ids)
        for run_id in ids:
            self.cancel(run_id, owner=EVERYONE)
        deadline = time.monotonic() + self.settings.cancel_grace_s + 30
        while time.monotonic() < deadline and any(r in self._tracked for r in ids):
            self.pump()
            time.sleep(0.2)
