"""A run's way through the states, for the dispatcher and the workers (never for pages): claimed, running,
progress and epochs, cancel, and one final state. A run in a final state (succeeded, failed, cancelled,
interrupted) is never rewritten: every status change is guarded by the states it may leave."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from tlcore.core.jsonutil import json_safe
from tlcore.runs.store.database import Database
from tlcore.runs.store.records import ACTIVE, FINAL, RunRecord, Scope, run_record, scoped
from tlcore.runs.store.runs import LAST_START

_PROGRESS_FIELDS = {"step", "total_steps", "epoch", "eta_s", "message"}
_BUSY = "(SELECT COUNT(*) FROM runs WHERE status IN ('starting','running'))"


class Lifecycle(Database):
    def claim(self, run_id: str, max_active: int | None = None) -> bool:
        """queued → starting in one statement: only one dispatcher can win a run, and with `max_active`
        the claim fails when that many runs are already starting or running (whoever started them)."""
        limit = "" if max_active is None else f" AND {_BUSY} < ?"
        params = (time.time(), run_id) + (() if max_active is None else (max_active,))
        cur = self._execute(f"UPDATE runs SET status='starting', started=? WHERE id=? AND status='queued'{limit}",
                            params)
        return cur.rowcount == 1

    def claim_next(self, pid: int, max_active: int | None = None, worker_key: str | None = None) -> str | None:
        """The next queued run (round-robin between workspaces, see `runs.round_robin`) → starting under `pid`,
        in one statement (a warm worker taking its next run); None when the queue is empty or `max_active` runs
        are already starting or running. With `worker_key`, only a run queued with that key (a worker that
        outlived its command takes only runs queued with its own code and settings)."""
        keyed = "" if worker_key is None else " AND q.worker_key=?"
        limit = "" if max_active is None else f" AND {_BUSY} < ?"
        params = ((time.time(), pid) + (() if worker_key is None else (worker_key,))
                  + (() if max_active is None else (max_active,)))
        with self._transaction() as conn:
            rows = conn.execute(
                "UPDATE runs SET status='starting', started=?, pid=? WHERE status='queued' AND id=(SELECT q.id FROM "
                f"runs q LEFT JOIN {LAST_START} s ON s.owner = q.owner WHERE q.status='queued'{keyed} "
                f"ORDER BY COALESCE(s.last, 0), q.created, q.id LIMIT 1){limit} RETURNING id, owner", params).fetchall()
            if rows:
                took_turn(conn, rows[0]["owner"], params[0])
        return rows[0]["id"] if rows else None

    def set_pid(self, run_id: str, pid: int) -> None:
        """Record the worker process; `started` moves to now so it is never earlier than that process."""
        self._execute("UPDATE runs SET pid=?, started=? WHERE id=? AND status IN ('starting','running')",
                      (pid, time.time(), run_id))

    def active_runs(self, executor: str | None = None) -> list[RunRecord]:
        """Runs starting or running, oldest first (each names the worker process it is on in `pid`); only
        those `executor` started when given (a local worker's pid means nothing for a run on another node)."""
        which, params = ("", ()) if executor is None else (" AND executor=?", (executor,))
        rows = self._execute(f"SELECT * FROM runs WHERE status IN ('starting','running'){which} ORDER BY started",
                             params).fetchall()
        return [run_record(r) for r in rows]

    def mark_running(self, run_id: str, pid: int, *, node: str | None = None) -> bool:
        """starting → running on the process `pid` of the machine `node`."""
        now = time.time()
        with self._transaction() as conn:
            rows = conn.execute("UPDATE runs SET status='running', pid=?, node=?, started=? WHERE id=? AND status "
                                "IN ('queued','starting') RETURNING owner", (pid, node, now, run_id)).fetchall()
            if rows:
                took_turn(conn, rows[0]["owner"], now)
        return bool(rows)

    def update_progress(self, run_id: str, **fields: Any) -> None:
        bad = set(fields) - _PROGRESS_FIELDS
        if bad:
            raise ValueError(f"not progress fields: {bad}")
        fields = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in fields.items()}
        sets = ", ".join(f"{k}=?" for k in fields)
        self._execute(f"UPDATE runs SET {sets} WHERE id=? AND status='running'", (*fields.values(), run_id))

    def add_epoch(self, run_id: str, metrics: dict[str, Any]) -> None:
        """Record one epoch's metrics; ignored once the run has ended (a finished run is never rewritten)."""
        self._execute("INSERT OR REPLACE INTO epochs SELECT ?, ?, ? WHERE EXISTS "
                      "(SELECT 1 FROM runs WHERE id=? AND status='running')",
                      (run_id, int(metrics["epoch"]), json.dumps(json_safe(metrics)), run_id))

    def clear_epochs(self, run_id: str) -> None:
        """Forget a running run's epochs (it starts training again, e.g. with a smaller batch)."""
        self._execute("DELETE FROM epochs WHERE run_id=? AND EXISTS "
                      "(SELECT 1 FROM runs WHERE id=? AND status='running')", (run_id, run_id))

    def finish(self, run_id: str, status: str, *, result: dict[str, Any] | None = None,
               error: str | None = None, from_states: tuple[str, ...] = ACTIVE) -> bool:
        """Move an active run to a final state; returns False (and changes nothing) if it already ended."""
        if status not in FINAL:
            raise ValueError(status)
        placeholders = ",".join("?" * len(from_states))
        cur = self._execute(
            f"UPDATE runs SET status=?, finished=?, result=?, error=?, eta_s=NULL "
            f"WHERE id=? AND status IN ({placeholders})",
            (status, time.time(), json.dumps(json_safe(result)) if result is not None else None, error,
             run_id, *from_states))
        return cur.rowcount == 1

    def request_cancel(self, run_id: str, *, owner: Scope) -> str | None:
        """A queued run is cancelled at once; a running one gets the flag its loop reads. Returns the status,
        or None (nothing done) when the run does not exist or belongs to another workspace than `owner`."""
        mine, params = scoped(owner)
        if self._execute(f"SELECT 1 FROM runs WHERE id=?{mine}", (run_id, *params)).fetchone() is None:
            return None
        if self.finish(run_id, "cancelled", error="Cancelled before it started.", from_states=("queued",)):
            return "cancelled"
        self._execute("UPDATE runs SET cancel_requested=1 WHERE id=? AND status IN ('starting','running')", (run_id,))
        row = self._execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        return row[0] if row else None

    def cancel_requested(self, run_id: str) -> bool:
        row = self._execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def status_of(self, run_id: str) -> str | None:
        row = self._execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        return row[0] if row else None

    def recover_orphans(self, is_alive: Callable[[RunRecord], bool], grace_s: float = 30.0) -> list[str]:
        """Mark runs whose local worker process is gone as interrupted (e.g. after a server restart). Runs on
        a Ray cluster are left to the Ray executor: their pid is a process on another machine.

        `is_alive(run)` judges the process in `run.pid`. A run claimed moments ago may not have its pid
        yet; it gets `grace_s` before it counts as orphaned.
        """
        now = time.time()
        orphans = [r.id for r in self.active_runs(executor="local")
                   if (not r.pid and now - (r.started or 0) > grace_s) or (r.pid and not is_alive(r))]
        return [run_id for run_id in orphans if self.finish(
            run_id, "interrupted", error="The worker stopped (server restart or crash) before the run finished; "
            "start it again.", from_states=("starting", "running"))]


def took_turn(conn, owner: str, when: float) -> None:
    """A run of `owner` started: its workspace goes to the back of the queue's turns."""
    conn.execute("INSERT INTO turns (owner, last) VALUES (?, ?) ON CONFLICT(owner) DO UPDATE SET last=excluded.last",
                 (owner, when))
