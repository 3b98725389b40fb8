"""The Ray executor's settings (`TLAB_RAY_<NAME>` for each field), and joining the cluster as a driver."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tlcore.core.errors import ConfigError, UserError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class RaySettings:
    """How the server side behaves. Node-side settings are read on each node from the environment of its
    `ray start`: TLAB_RAY_NODE_DIR (scratch and dataset cache) and TLAB_RAY_NODE_CACHE_MB."""

    address: str = "auto"  # `auto` (a node on this machine), `HOST:PORT` of the head, or `ray://HOST:10001`
    namespace: str = "transfer-lab"  # the runs' actors are named in it; the servers of one deployment share it
    node_ip: str = ""  # this server's own address on the cluster, when Ray cannot guess it
    cpus_per_run: float = 1.0  # a CPU run asks for this many CPUs (and trains with as many threads)
    max_active: int = 0  # at most this many runs starting or running at once (0: as many as the cluster takes)
    cancel_grace_s: float = 10.0  # a cancelled run's worker is killed if its loop has not stopped by then
    drain_every_s: float = 0.5  # how often a running run's progress is fetched from its node
    lease_s: float = 15.0  # a server silent this long loses its runs to another server (or its own restart)
    recover_every_s: float = 5.0  # how often to look for runs whose server went silent
    placement_timeout_s: float = 900.0  # a run no node could take within this time fails with the reason
    max_attempts: int = 2  # a run whose node died is tried once more on another node
    spread: bool = True  # spread runs over the nodes (a comparison fans out) rather than packing them
    idle_keep_s: float = 10.0  # a worker with no run waits this long for the next run of its shape (0: never)
    orphan_ttl_s: float = 600.0  # a worker no server has asked anything for this long exits by itself

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> RaySettings:
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f"TLAB_RAY_{f.name.upper()}"
            raw = (env.get(name) or "").strip()
            if raw:
                values[f.name] = _parse(name, raw, type(getattr(cls, f.name)))
        return cls(**values)


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() not in _TRUE + _FALSE:
            raise ConfigError(f"{name} must be true or false (got {raw!r}).")
        return raw.lower() in _TRUE
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {raw!r}).") from None


_lock = threading.Lock()
_users = 0  # executors in this process sharing the one driver connection


def connect(settings: RaySettings) -> None:
    """Join the cluster as a driver (one connection per process, shared by its executors). Ray's own log
    lines stay in the cluster's files. UserError, in plain words, when the cluster cannot be reached."""
    import ray

    global _users
    with _lock:
        if not ray.is_initialized():
            kwargs: dict[str, Any] = dict(address=settings.address, namespace=settings.namespace,
                                          log_to_driver=False, logging_level=logging.WARNING)
            if settings.node_ip and not settings.address.startswith("ray://"):
                kwargs["_node_ip_address"] = settings.node_ip
            try:
                _init(ray, kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(f"Could not connect to the Ray cluster at TLAB_RAY_ADDRESS={settings.address!r} "
                                f"({exc}). Start it (`ray start --head`), fix the address, or unset "
                                "TLAB_EXECUTOR to train on this machine.") from exc
        _users += 1


CLIENT_SERVER_TRIES = 3  # Ray Client's per-driver server dies at birth now and then: see `_init`
# what the head answers when that server died before (or just after) it was found running; a child that died
# between the head's liveness check and its reading of the child's command line surfaces as psutil's zombie error
CLIENT_SERVER_DIED = ("Starting Ray client server failed", "Proxy failed to Connect to backend",
                      "psutil.ZombieProcess")


def _init(ray: Any, kwargs: dict[str, Any]) -> None:
    """`ray.init`, tried again when Ray Client's head could not start this driver's own server: the head forks
    it from a process busy in gRPC, and the child sometimes dies before it runs (ray-project/ray#63202, open;
    about one connect in fifteen there, and as often here: 7 of 93). Each try gets a new server and port. The head
    words that death three ways (`CLIENT_SERVER_DIED`); the third, a zombie child, failed a CI run on 2026-12-03."""
    for attempt in range(1, CLIENT_SERVER_TRIES + 1):
        try:
            ray.init(**kwargs)
            return
        except ConnectionError as exc:
            if attempt == CLIENT_SERVER_TRIES or not any(text in str(exc) for text in CLIENT_SERVER_DIED):
                raise
            logging.getLogger(__name__).warning("Ray Client's server for this driver did not start (try %d of %d); "
                                                "trying again", attempt, CLIENT_SERVER_TRIES)
            if ray.is_initialized():
                ray.shutdown()


def disconnect() -> None:
    """The last executor of this process leaving: close the driver connection."""
    import ray

    global _users
    with _lock:
        _users = max(0, _users - 1)
        if _users == 0 and ray.is_initialized():
            ray.shutdown()
