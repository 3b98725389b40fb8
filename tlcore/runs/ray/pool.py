"""Workers and what they hold: the resources a run asks for, the runs this server tracks on the cluster, and
the warm workers it keeps between runs (the next run of the same shape reuses one: no imports, no placement)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import RayError

from tlcore.runs.ray.actor import NodeInfo, RunActor, RunPayload
from tlcore.runs.ray.settings import RaySettings

CALLS = ("start", "drain", "outcome")  # handled in this order when several came back in one round
WORKER_PREFIX = "tlab:w:"


def resources(config: Mapping[str, Any], settings: RaySettings, cluster: Mapping[str, float]) -> dict[str, float]:
    """One GPU for a run that wants one (device cuda, or auto on a cluster that has GPUs), CPUs otherwise."""
    device = config.get("device", "auto")
    if device == "cuda" or (device == "auto" and cluster.get("GPU", 0) > 0):
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": settings.cpus_per_run}


def shape(ask: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(ask.items()))


def fits(ask: Mapping[str, float], room: Mapping[str, float]) -> int:
    """How many runs asking for `ask` fit into `room` (resources summed over the nodes: an estimate when
    fractions of a CPU are free on several nodes)."""
    if ask.get("num_gpus"):
        return int(room.get("GPU", 0) // ask["num_gpus"])
    return int(room.get("CPU", 0) // max(ask.get("num_cpus", 1), 1e-9))


def ask_text(ask: Mapping[str, float]) -> str:
    """{"num_gpus": 1, "num_cpus": 1} → "1 GPU and 1 CPU" (for messages a person reads)."""
    names = {"num_gpus": "GPU", "num_cpus": "CPU"}
    return " and ".join(f"{v:g} {names.get(k, k)}" for k, v in ask.items()) or "no resources"


def kill_actor(actor: Any) -> None:
    try:
        ray.kill(actor, no_restart=True)
    except (RayError, ValueError):
        pass  # already gone


@dataclass
class Tracked:
    """A run of ours on the cluster, and the calls to its worker that are in flight."""

    run_id: str
    actor: Any  # ActorHandle
    worker: str  # the actor's name
    attempt: int
    shape: tuple[tuple[str, float], ...]
    payload: RunPayload
    calls: dict[str, Any] = field(default_factory=dict)  # "start"/"drain"/"outcome" -> ObjectRef in flight
    retry_at: dict[str, float] = field(default_factory=dict)  # a call dropped while unreachable: ask again then
    created: float = field(default_factory=time.monotonic)
    acked: int = 0  # the last relayed write applied to the store
    last_drain: float = 0.0
    node: NodeInfo | None = None  # where it runs, once its worker has said so
    cancel_sent: float | None = None
    killed: bool = False
    reused: bool = False  # on a warm worker that served runs before
    new_worker: bool = False  # on a worker created for it (it may wait for a node to have room)
    unreachable_since: float | None = None

    @property
    def digest(self) -> str | None:
        return self.payload.data.digest if self.payload.data else None


@dataclass
class Idle:
    actor: Any
    worker: str
    shape: tuple[tuple[str, float], ...]
    since: float


class WorkerPool:
    """New detached workers, and warm ones between runs (kept `idle_keep_s`, then killed)."""

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self._idle: list[Idle] = []

    @staticmethod
    def new_name() -> str:
        return WORKER_PREFIX + uuid.uuid4().hex[:12]

    def create(self, name: str, ask: Mapping[str, float]) -> Any:
        """A detached, named worker (it outlives this server; the next one finds it by name) with Ray's own
        retries off, so the store shows every attempt."""
        options: dict[str, Any] = {"name": name, "namespace": self.settings.namespace, "lifetime": "detached",
                                   "max_restarts": 0, "max_task_retries": 0, "max_concurrency": 8, **ask}
        if self.settings.spread:
            options["scheduling_strategy"] = "SPREAD"
        return RunActor.options(**options).remote(self.settings.orphan_ttl_s)

    def idle_count(self, wanted: tuple[tuple[str, float], ...]) -> int:
        return sum(1 for w in self._idle if w.shape == wanted)

    def take(self, wanted: tuple[tuple[str, float], ...]) -> Idle | None:
        for i, idle in enumerate(self._idle):
            if idle.shape == wanted:
                return self._idle.pop(i)
        return None

    def put_back(self, idle: Idle) -> None:
        self._idle.append(idle)

    def keep_or_kill(self, t: Tracked, stopping: bool) -> None:
        """After a run: keep its worker warm for the next run of its shape (not one we killed)."""
        if self.settings.idle_keep_s > 0 and not t.killed and not stopping:
            self._idle.append(Idle(t.actor, t.worker, t.shape, time.monotonic()))
        else:
            kill_actor(t.actor)

    def prune(self, *, all_but: tuple[tuple[str, float], ...] | None = None) -> None:
        """Let idle workers go after `idle_keep_s`; with `all_but`, also every idle worker of another shape at
        once (a run waits for the resources it holds)."""
        now = time.monotonic()
        for idle in [w for w in self._idle if now - w.since >= self.settings.idle_keep_s
                     or (all_but is not None and w.shape != all_but)]:
            self._idle.remove(idle)
            kill_actor(idle.actor)

    def clear(self) -> None:
        for idle in self._idle:
            kill_actor(idle.actor)
        self._idle.clear()
