"""One interface for whatever starts queued runs: worker processes on this machine, or nodes of a Ray cluster.

`TLAB_EXECUTOR` chooses: `local` (the default: `tlcore.runs.dispatch.Dispatcher`, warm worker processes here)
or `ray` (`tlcore.runs.ray`: each run on a warm Ray actor on whichever node has room, at `TLAB_RAY_ADDRESS`).
Ray is imported only when it is chosen, so a plain install and `make run` never need it.

Either way the run store stays the only queue and the only record: pages queue runs and set cancel flags in
the store, and the executor does the rest while someone `pump`s it (a daemon thread in the app server,
`wait` in the command line).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from tlcore.core.errors import ConfigError, UserError
from tlcore.runs.dispatch import Dispatcher
from tlcore.runs.store import RunRecord, RunStore, Scope

KINDS = ("local", "ray")


class Executor(Protocol):
    """What the CLI and the app server drive. `pump()` does one round of work without blocking for long;
    `start()` pumps in a daemon thread; `wait()` pumps until runs are final; `stop()` ends the pumping."""

    store: RunStore

    def recover(self) -> list[str]: ...

    def pump(self) -> None: ...

    def start(self, interval_s: float = 0.5) -> Executor: ...

    def stop(self) -> None: ...

    def wait(self, run_ids: Iterable[str], *, poll_s: float = 0.5, timeout_s: float | None = None,
             on_poll: Callable[[list[RunRecord]], None] | None = None) -> list[RunRecord]: ...

    def cancel(self, run_id: str, *, owner: Scope) -> str | None: ...

    def terminate_all(self, run_ids: Iterable[str] | None = None) -> None: ...


def executor_kind(env: Mapping[str, str] = os.environ) -> str:
    """`TLAB_EXECUTOR`: local (default) or ray."""
    kind = (env.get("TLAB_EXECUTOR") or "local").strip().lower()
    if kind not in KINDS:
        raise ConfigError(f"TLAB_EXECUTOR must be 'local' (worker processes on this machine) or 'ray' (a Ray "
                          f"cluster at TLAB_RAY_ADDRESS), not {kind!r}.")
    return kind


def make_executor(store: RunStore, env: Mapping[str, str] = os.environ, *, standby: bool = False,
                  **kwargs: Any) -> Executor:
    """The executor `TLAB_EXECUTOR` names; keyword arguments go to its constructor. `standby`: the local one
    keeps a worker started and waiting (a Ray cluster's workers are the cluster's own). The Ray one connects to
    the cluster now (UserError, in plain words, when it cannot)."""
    if executor_kind(env) == "local":
        return Dispatcher(store, standby=standby, **kwargs)
    try:
        from tlcore.runs.ray.executor import RayExecutor
        from tlcore.runs.ray.settings import RaySettings
    except ImportError as exc:
        raise UserError(f"TLAB_EXECUTOR=ray needs the ray package ({exc}); install it with "
                        "`pip install ray==2.60.0`, or unset TLAB_EXECUTOR to train on this machine.") from exc
    return RayExecutor(store, RaySettings.from_env(env), **kwargs)
