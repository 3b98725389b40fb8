"""Creating, reading, renaming and deleting runs, scoped to a workspace; and the queue as people see it."""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Iterable
from typing import Any

from tlcore.runs.store.database import Database
from tlcore.runs.store.records import FINAL, RunRecord, Scope, run_record, scoped

REUSABLE = ("succeeded", "queued", "starting", "running")
# When each workspace last had a run start: the queue serves the workspace that has waited longest. Recorded as
# runs start (`Lifecycle.claim_next`), so it survives the deletion of those runs.
LAST_START = "(SELECT owner, last FROM turns)"


def round_robin(queued: list[RunRecord], last_start: dict[str, float]) -> list[RunRecord]:
    """The order runs will start in: each turn goes to the workspace whose last run started longest ago (never:
    first), oldest waiting run first within a workspace. One long comparison therefore cannot hold everybody
    else behind all of its runs; this is what `Lifecycle.claim_next` picks, one turn at a time."""
    waiting: dict[str, deque[RunRecord]] = {}
    for run in queued:
        waiting.setdefault(run.owner, deque()).append(run)
    clock = {owner: last_start.get(owner) or 0.0 for owner in waiting}
    tick = max([time.time(), *clock.values()])
    order = []
    while waiting:
        owner = min(waiting, key=lambda o: (clock[o], waiting[o][0].created, waiting[o][0].id))
        order.append(waiting[owner].popleft())
        tick += 1.0
        clock[owner] = tick
        if not waiting[owner]:
            del waiting[owner]
    return order


class RunQueries(Database):
    def create_run(self, config: dict[str, Any], *, owner: str = "", group_id: str | None = None,
                   name: str = "", worker_key: str | None = None) -> str:
        """Queue a run for the workspace `owner` ("" is the command line's); `worker_key`: see `claim_next`."""
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self._execute("INSERT INTO runs (id, name, group_id, owner, status, config, created, worker_key) "
                      "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                      (run_id, name, group_id, owner, json.dumps(config, sort_keys=True), time.time(), worker_key))
        return run_id

    def get(self, run_id: str, *, owner: Scope) -> RunRecord | None:
        """The run; None when it does not exist or belongs to another workspace than `owner`."""
        mine, params = scoped(owner)
        row = self._execute(f"SELECT * FROM runs WHERE id=?{mine}", (run_id, *params)).fetchone()
        return run_record(row) if row else None

    def list_runs(self, *, owner: Scope, group_id: str | None = None, statuses: Iterable[str] | None = None,
                  limit: int = 500) -> list[RunRecord]:
        """Newest first."""
        mine, params = scoped(owner)
        where, values = "WHERE 1=1" + mine, list(params)
        if group_id is not None:
            where += " AND group_id=?"
            values.append(group_id)
        if statuses:
            statuses = list(statuses)
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            values += statuses
        rows = self._execute(f"SELECT * FROM runs {where} ORDER BY created DESC, id DESC LIMIT ?",
                             (*values, limit)).fetchall()
        return [run_record(r) for r in rows]

    def count_runs(self, *, owner: Scope, statuses: Iterable[str]) -> int:
        mine, params = scoped(owner)
        statuses = list(statuses)
        return self._execute(f"SELECT COUNT(*) FROM runs WHERE status IN ({','.join('?' * len(statuses))}){mine}",
                             (*statuses, *params)).fetchone()[0]

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._execute("SELECT metrics FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)).fetchall()
        return [json.loads(r["metrics"]) for r in rows]

    def rename(self, run_id: str, name: str, *, owner: Scope) -> bool:
        mine, params = scoped(owner)
        return self._execute(f"UPDATE runs SET name=? WHERE id=?{mine}",
                             (name.strip()[:200], run_id, *params)).rowcount == 1

    def delete(self, run_id: str, *, owner: Scope) -> bool:
        """Delete a run that is not active (cancel it first)."""
        mine, params = scoped(owner)
        cur = self._execute(f"DELETE FROM runs WHERE id=? AND status IN ({','.join('?' * len(FINAL))}){mine}",
                            (run_id, *FINAL, *params))
        return cur.rowcount == 1

    def find_reusable_run(self, config: dict[str, Any], *, owner: str, fingerprint: str) -> RunRecord | None:
        """A run of exactly this config (same workspace) that succeeded on the same data, or is on its way."""
        rows = self._execute(
            f"SELECT * FROM runs WHERE owner=? AND config=? AND status IN ({','.join('?' * len(REUSABLE))}) "
            "ORDER BY status='succeeded' DESC, created DESC",
            (owner, json.dumps(config, sort_keys=True), *REUSABLE)).fetchall()
        for record in map(run_record, rows):
            if record.status != "succeeded" or (record.result or {}).get("data_fingerprint") == fingerprint:
                return record
        return None

    # -- the queue -------------------------------------------------------------------------------------
    def queued(self) -> list[RunRecord]:
        """Every workspace's waiting runs, in the order they will start (see `round_robin`)."""
        rows = self._execute("SELECT * FROM runs WHERE status='queued' ORDER BY created, id").fetchall()
        last = dict(self._execute(f"SELECT owner, last FROM {LAST_START}").fetchall())
        return round_robin([run_record(r) for r in rows], last)

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when the run is not waiting."""
        ids = [r.id for r in self.queued()]
        return ids.index(run_id) + 1 if run_id in ids else None

    def count_active(self) -> int:
        return self._execute("SELECT COUNT(*) FROM runs WHERE status IN ('starting','running')").fetchone()[0]
