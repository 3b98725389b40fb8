"""What runs on a node: `RunActor`, a warm worker that trains one run at a time with tlcore's own
`train_to_end`, reporting to a relay, and hands back the outcome with the run folder packed inside.

Ray pickles the class by its module path, so every node needs Transfer Lab importable (the same installation
as the server). Worker processes inherit the environment of the node's `ray start`, not the server's.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayError

from tlcore.core import settings
from tlcore.runs.priority import lower_priority
from tlcore.runs.ray.packing import pack_dir
from tlcore.runs.ray.relay import Op, RelayStore
from tlcore.runs.ray.shipping import DataShipment, materialize, prune_cache

log = logging.getLogger("tlcore.runs.ray")
DEFAULT_NODE_CACHE_MB = 5000


@dataclass(frozen=True)
class NodeInfo:
    ip: str
    node_id: str
    pid: int
    runs_served: int = 0  # runs this worker finished before (0: a fresh process that paid the imports)


@dataclass(frozen=True)
class RunPayload:
    run_id: str
    config: dict[str, Any]
    data: DataShipment | None  # None: a built-in dataset, read from the node's own installation
    attempt: int


@dataclass
class Outcome:
    status: str  # succeeded, failed or cancelled
    node: NodeInfo
    result: dict[str, Any] | None = None
    error: str | None = None
    artifacts: bytes | None = None  # a tar of the run folder (succeeded runs)
    ops: list[Op] = field(default_factory=list)  # progress writes the server had not acknowledged yet
    log: str = ""  # the run's log records on the node
    data_fetched: bool = False  # whether this run fetched its dataset (a miss in the node's cache)


@ray.remote
class RunActor:
    """A warm worker on one node. Threaded (`max_concurrency`), so `drain`, `cancel` and `outcome` are answered
    while a run trains in its own thread; every call names its run, so a late call about an earlier run never
    touches the current one (calls to a threaded actor are not ordered). It exits by itself after `orphan_ttl_s`
    with no run and no call from any server, rather than hold its CPU or GPU forever."""

    def __init__(self, orphan_ttl_s: float) -> None:
        self._cv = threading.Condition()
        self._run_id: str | None = None
        self._relay = RelayStore()
        self._outcome: Outcome | None = None
        self._busy = False
        self._touched = time.monotonic()
        self.runs_served = 0
        # Node-local scratch (caches, the dataset cache, run folders before they are packed): the server's
        # TLAB_DATA_DIR means nothing here.
        node_dir = Path(os.environ.get("TLAB_RAY_NODE_DIR") or settings.data_dir() / "ray-node")
        os.environ["TLAB_DATA_DIR"] = str(node_dir)
        self.cache_root = node_dir / "datasets"
        self.cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)  # reliable only here
        lower_priority(os.getpid())  # TLAB_WORKER_NICE steps below where it started, as a local worker
        threading.Thread(target=self._exit_when_orphaned, args=(orphan_ttl_s,), daemon=True).start()

    def info(self) -> NodeInfo:
        return NodeInfo(ray.util.get_node_ip_address(), ray.get_runtime_context().get_node_id(), os.getpid(),
                        self.runs_served)

    def start(self, payload: RunPayload) -> NodeInfo:
        """Fetch the run's data to this node, start the run in a thread and return. Asked again for the run it
        already has (a server that took over cannot know whether the first call arrived), it only says where
        it is. Raises, without taking the run, when the data cannot be fetched (e.g. the server that shipped it
        died: the server that takes over asks again with the data shipped anew)."""
        with self._cv:
            self._touched = time.monotonic()
            if self._run_id != payload.run_id:
                if self._busy:
                    raise RuntimeError(f"this worker is busy with run {self._run_id}")
                data = self._fetch(payload.data)
                self._run_id, self._relay, self._outcome, self._busy = payload.run_id, RelayStore(), None, True
                threading.Thread(target=self._train, args=(payload, self._relay, data), daemon=True).start()
        return self.info()

    def _fetch(self, shipment: DataShipment | None) -> tuple[str | None, bool]:
        """(the dataset's path on this node or None for a built-in one, whether it was fetched now)."""
        if shipment is None:
            return None, False
        try:
            path, fetched = materialize(shipment, self.cache_root)
        except (OSError, RayError) as exc:  # a full disk, or the server that shipped it is gone
            raise RuntimeError(f"The dataset could not be copied to node {self.info().ip} ({exc}).") from None
        return str(path), fetched

    def drain(self, run_id: str, acked: int) -> list[Op]:
        self._touched = time.monotonic()
        return self._relay.take(acked) if run_id == self._run_id else []

    def cancel(self, run_id: str) -> None:
        if run_id == self._run_id:
            self._relay.cancel.set()

    def outcome(self, run_id: str) -> Outcome:
        """Blocks until `run_id` has ended here. The outcome is kept until the next run starts, so a server
        that died before recording it can ask again after its restart."""
        with self._cv:
            self._cv.wait_for(lambda: self._run_id == run_id and self._outcome is not None)
            self._touched = time.monotonic()
            return dataclasses.replace(self._outcome, ops=self._relay.take(0))

    def _train(self, payload: RunPayload, relay: RelayStore, data: tuple[str | None, bool]) -> None:
        with _captured_log() as buffer:
            try:
                outcome = run_on_node(payload, relay, data, self.info(), self.cpus)
            except BaseException as exc:  # whatever happens, `outcome` must not wait forever
                outcome = Outcome("failed", self.info(), error=f"Unexpected error on the node ({exc!r}).")
        outcome.log = buffer.getvalue()
        keep_mb = int(os.environ.get("TLAB_RAY_NODE_CACHE_MB") or DEFAULT_NODE_CACHE_MB)
        with suppress(OSError):
            prune_cache(self.cache_root, keep_mb * 2**20, keep=frozenset({payload.data.digest} if payload.data else ()))
        _release_memory()
        with self._cv:
            self._outcome, self._busy, self._touched = outcome, False, time.monotonic()
            self.runs_served += 1
            self._cv.notify_all()

    def _exit_when_orphaned(self, ttl_s: float) -> None:
        while True:
            time.sleep(min(ttl_s, 5.0))
            if not self._busy and time.monotonic() - self._touched > ttl_s:
                log.warning("no server asked this worker anything for %.0f s; exiting", ttl_s)
                os._exit(0)


def run_on_node(payload: RunPayload, relay: RelayStore, data: tuple[str | None, bool], node: NodeInfo,
                cpus: float) -> Outcome:
    """tlcore's own run execution, with the relay as its board and `data` = (the node's copy of the dataset, or
    None for a built-in one; whether it was fetched for this run). Returns the outcome instead of writing it to
    a store; never raises for a failed run."""
    import torch

    from tlcore.core.config import TrainConfig
    from tlcore.runs.artifacts import write_artifacts
    from tlcore.runs.execute import failure_reason, train_to_end

    torch.set_num_threads(settings.torch_threads(int(cpus)))  # as many as the CPUs it holds
    local, fetched = data
    ending = train_to_end(relay, payload.run_id, TrainConfig.from_dict(payload.config), data_path=local)
    if ending.status != "succeeded":
        return Outcome(ending.status, node, error=ending.error, data_fetched=fetched)
    try:
        folder = write_artifacts(payload.run_id, ending.out)
        try:
            blob = pack_dir(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    except Exception as exc:  # a full disk on the node
        return Outcome("failed", node, error=failure_reason(payload.run_id, exc), data_fetched=fetched)
    return Outcome("succeeded", node, result=ending.result, artifacts=blob, data_fetched=fetched)


@contextmanager
def _captured_log() -> Iterator[io.StringIO]:
    """This process's log records while a run trains, to go back to the server with its outcome."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{socket.gethostname()}] %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def _release_memory() -> None:
    from tlcore.runs.memory import release_memory
    try:
        release_memory()
    except Exception:  # freeing caches between runs is best effort
        log.debug("releasing memory between runs failed", exc_info=True)
