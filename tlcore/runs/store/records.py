"""What the store hands out: runs and studies as plain records, and the workspace scope of a query.

Every query a person can reach is scoped: it takes `owner=` a workspace id, or `owner=EVERYONE` for the
command line and the engine's own bookkeeping. There is no default, so forgetting the scope is a TypeError
rather than a leak of other workspaces' runs.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

ACTIVE = ("queued", "starting", "running")
FINAL = ("succeeded", "failed", "cancelled", "interrupted")


class Everyone:
    """The scope of the command line and of the engine itself: every workspace."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE = Everyone()
Scope = str | Everyone


def scoped(owner: Scope, column: str = "owner") -> tuple[str, tuple[str, ...]]:
    """SQL that restricts a statement to one workspace (nothing for EVERYONE)."""
    if isinstance(owner, Everyone):
        return "", ()
    if not isinstance(owner, str):
        raise TypeError(f"owner must be a workspace id or EVERYONE, not {owner!r}")
    return f" AND {column}=?", (owner,)


@dataclass
class RunRecord:
    id: str
    name: str
    group_id: str | None
    owner: str
    status: str
    config: dict[str, Any]
    created: float
    started: float | None
    finished: float | None
    pid: int | None
    cancel_requested: bool
    step: int
    total_steps: int
    epoch: int
    eta_s: float | None
    message: str
    error: str | None
    result: dict[str, Any] | None
    executor: str = "local"  # what started it: "local" (a worker process here) or "ray" (a node of a cluster)
    node: str | None = None  # the machine it ran on (a host name, or a Ray node's address)
    worker_key: str | None = None  # the code and settings it was queued with (tlcore.runs.worker_key)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def progress(self) -> float:
        if self.status == "succeeded":
            return 1.0
        return self.step / self.total_steps if self.total_steps else 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, progress=self.progress)


@dataclass
class StudyRecord:
    id: str
    owner: str
    name: str
    spec: dict[str, Any]
    created: float


def run_record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["cancel_requested"] = bool(data["cancel_requested"])
    return RunRecord(**data)


def study_record(row: sqlite3.Row) -> StudyRecord:
    data = dict(row)
    data["spec"] = json.loads(data["spec"])
    return StudyRecord(**data)
