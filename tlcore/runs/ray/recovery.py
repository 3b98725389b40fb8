"""When things go wrong: a worker lost with its node (tried once more elsewhere), a worker that crashed, a
cancel, a run no node takes, and a server that went silent (another server, or its restart, takes its runs
over, or marks them interrupted with the reason). Nothing is ever left `running` with nobody watching it."""

from __future__ import annotations

import time
from typing import Any

import ray
from ray.exceptions import RayActorError

from tlcore.runs.processes import is_worker_alive
from tlcore.runs.ray.actor import RunPayload
from tlcore.runs.ray.calls import first_line
from tlcore.runs.ray.core import RayCore
from tlcore.runs.ray.pool import Tracked, ask_text, resources, shape
from tlcore.runs.store import EVERYONE, Placement, RunRecord


class Recovery(RayCore):
    _last_recover = float("-inf")

    def _lost(self, t: Tracked, exc: Exception) -> None:
        """Cancelled → cancelled; its node died → once more on another node, then failed; it could not start or
        crashed on a live node → failed with Ray's reason (another try would most likely fail the same way)."""
        record = self.store.get(t.run_id, owner=EVERYONE)
        self._note(t.run_id, f"worker lost ({type(exc).__name__}): {first_line(exc)}")
        if record is None or record.is_final:
            self._forget(t)
        elif record.cancel_requested or t.killed:
            self._end(t, "cancelled", error="Cancelled by the user.")
        elif isinstance(exc, RayActorError) and exc.actor_init_failed:
            self._end(t, "failed", error=f"The worker could not start on the Ray cluster ({first_line(exc)}). "
                      "Check that every node has the same Transfer Lab installation as the server.")
        elif t.reused and t.node is None:  # a warm worker that was gone before it took the run: no attempt spent
            self._move(t, *self._any_worker(t.shape))
        elif not self._node_dead(t):
            where = f"node {t.node.ip}" if t.node else "its node"
            self._end(t, "failed", error=f"The run's worker on {where} stopped unexpectedly ({first_line(exc)}). "
                      "Start it again.")
        elif t.attempt < self.settings.max_attempts:
            self._retry(t)
        else:
            self._end(t, "failed", error=f"The run's node stopped responding, on each of its {t.attempt} attempts "
                      f"(last on {t.node.ip if t.node else 'a node it never reached'}). Start it again.")

    def _node_dead(self, t: Tracked) -> bool:
        """True when the run's node has left the cluster (or the worker died before it said where it was)."""
        if t.node is None:
            return True
        return not any(n["NodeID"] == t.node.node_id and n["Alive"] for n in ray.nodes())

    def _retry(self, t: Tracked) -> None:
        where = t.node.ip if t.node else "its node"
        self.store.attempt_ended(t.run_id, "retried")
        self.store.clear_epochs(t.run_id)
        self.store.update_progress(t.run_id, step=0, epoch=0, eta_s=None,
                                   message=f"Node {where} stopped responding; trying again on another node "
                                           f"(attempt {t.attempt + 1} of {self.settings.max_attempts})")
        self._move(t, *self._any_worker(t.shape), attempt=t.attempt + 1)

    def _any_worker(self, wanted: tuple[tuple[str, float], ...]) -> tuple[str, Any | None]:
        """(name, handle) of an idle warm worker of the shape (on a live node, or it fails at once and the run
        moves on without spending an attempt), else (a new name, None): Ray places a new one on a live node."""
        idle = self.pool.take(wanted)
        return (idle.worker, idle.actor) if idle else (self.pool.new_name(), None)

    def _enforce_cancels(self) -> None:
        """Pass the store's cancel flag on to the node; kill the worker when its loop has not stopped in time."""
        now = time.monotonic()
        asked = {r.id for r in self.store.active_runs(executor="ray") if r.cancel_requested}
        for t in [t for t in self._tracked.values() if t.run_id in asked]:
            if t.node is None:  # still waiting for a node: nothing to stop gracefully
                self._end(t, "cancelled", error="Cancelled before it started.")
            elif t.cancel_sent is None:
                t.actor.cancel.remote(t.run_id)
                t.cancel_sent = now
            elif not t.killed and now - t.cancel_sent > self.settings.cancel_grace_s:
                self._note(t.run_id, "the run did not stop in time: killing its worker")
                self._kill(t)

    def _check_placement_timeouts(self) -> None:
        now = time.monotonic()
        for t in [t for t in self._tracked.values() if t.node is None]:
            if now - t.created > self.settings.placement_timeout_s:
                ask = ask_text(dict(t.shape))
                self._end(t, "failed", error=f"No node of the Ray cluster could take this run within "
                          f"{self.settings.placement_timeout_s:.0f} s (it asks for {ask}). Add such a node, or "
                          "train on this machine.")

    # -- a silent server's runs ---------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Take over the runs of servers silent for `lease_s` (a restart of this one, or another that died):
        find each one's worker by name and carry on, or mark the run interrupted when the worker is gone. Runs
        of local worker processes that died are marked interrupted too. Returns the runs touched."""
        self._last_recover = time.monotonic()
        touched = self.store.recover_orphans(lambda run: is_worker_alive(run.pid, since=run.started))
        stale_before = time.time() - self.settings.lease_s
        for placement in self.store.stale_placements(stale_before):
            if placement.run_id in self._tracked or not self.store.take_over(
                    placement.run_id, old_server=placement.server, new_server=self.server, stale_before=stale_before):
                continue
            record = self.store.get(placement.run_id, owner=EVERYONE)
            if record is not None and not record.is_final:
                self._adopt(record, placement)
                touched.append(record.id)
        return touched

    def _adopt(self, record: RunRecord, placement: Placement) -> None:
        try:
            actor = ray.get_actor(placement.worker, namespace=self.settings.namespace)
        except ValueError:
            self.store.attempt_ended(record.id, "interrupted")
            self.store.finish(record.id, "interrupted", error="The run's worker on the Ray cluster is gone (its node "
                              "or the cluster stopped while no app server was watching). Start it again.")
            self._note(record.id, f"{placement.worker} is gone: interrupted")
            return
        # `start` again, with the data shipped again: the first call may never have reached the worker
        payload = RunPayload(record.id, record.config, self.shipper.ship(record.config["data"]), placement.attempt)
        ask = resources(record.config, self.settings, ray.cluster_resources())
        t = Tracked(record.id, actor, placement.worker, placement.attempt, shape(ask), payload)
        t.calls = {"start": actor.start.remote(payload), "outcome": actor.outcome.remote(record.id)}
        self._tracked[record.id] = t
        self._note(record.id, f"took over {placement.worker} from {placement.server}")
