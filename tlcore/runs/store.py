"""The run store: SQLite in WAL mode, one connection per thread and process, short transactions.

Tables: `runs` (config, status, progress, result), `epochs` (per-epoch metrics) and `meta` (schema
version). Schema changes go through numbered migrations, never a silent drop. A run in a final state
(succeeded, failed, cancelled, interrupted) is never rewritten: every status change is guarded by the
states it may leave.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from tlcore import settings
from tlcore.errors import UserError
from tlcore.jsonutil import json_safe

ACTIVE = ("queued", "starting", "running")
FINAL = ("succeeded", "failed", "cancelled", "interrupted")
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', group_id TEXT, owner TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL, config TEXT NOT NULL, created REAL NOT NULL, started REAL, finished REAL,
        pid INTEGER, cancel_requested INTEGER NOT NULL DEFAULT 0, step INTEGER NOT NULL DEFAULT 0,
        total_steps INTEGER NOT NULL DEFAULT 0, epoch INTEGER NOT NULL DEFAULT 0, eta_s REAL,
        message TEXT NOT NULL DEFAULT '', error TEXT, result TEXT);
    CREATE INDEX runs_status ON runs(status, created);
    CREATE INDEX runs_group ON runs(group_id);
    CREATE TABLE epochs (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
        metrics TEXT NOT NULL, PRIMARY KEY (run_id, epoch));
    """,
    # 2: data-efficiency studies; a study lists its cells' runs (a finished run can serve several studies)
    """
    CREATE TABLE studies (
        id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',
        spec TEXT NOT NULL, created REAL NOT NULL);
    CREATE INDEX studies_owner ON studies(owner, created);
    CREATE TABLE study_runs (
        study_id TEXT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, PRIMARY KEY (study_id, run_id));
    """,
    # 3: read-only share links to one comparison (a run group) or study of a workspace (tlcore.workspaces)
    """
    CREATE TABLE shares (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, owner TEXT NOT NULL,
        created REAL NOT NULL);
    CREATE UNIQUE INDEX shares_target ON shares(owner, kind, target);
    """,
]
_PROGRESS_FIELDS = {"step", "total_steps", "epoch", "eta_s", "message"}


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


class RunStore:
    """Thread-safe by construction: each thread lazily opens its own connection."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else settings.data_dir() / "runs.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    # -- connection and schema -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row["value"]) if row else 0
            if version > len(MIGRATIONS):
                raise UserError(f"The run store at {self.path} was written by a newer Transfer Lab "
                                   f"(schema {version}); upgrade this installation.")
            for script in MIGRATIONS[version:]:
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(len(MIGRATIONS)),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn().execute(sql, tuple(params))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- creating and reading ----------------------------------------------------------------------
    def create_run(self, config: dict[str, Any], *, group_id: str | None = None, name: str = "",
                   owner: str = "") -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        self._execute("INSERT INTO runs (id, name, group_id, owner, status, config, created) "
                      "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                      (run_id, name, group_id, owner, json.dumps(config, sort_keys=True), time.time()))
        return run_id

    def get(self, run_id: str, owner: str | None = None) -> RunRecord | None:
        """The run; None when it does not exist or, with `owner`, belongs to another workspace."""
        mine, params = _owned(owner)
        row = self._execute(f"SELECT * FROM runs WHERE id=?{mine}", (run_id, *params)).fetchone()
        return _record(row) if row else None

    def list_runs(self, *, owner: str | None = None, group_id: str | None = None,
                  statuses: Iterable[str] | None = None, limit: int = 500) -> list[RunRecord]:
        where, params = [], []
        if owner is not None:
            where.append("owner=?")
            params.append(owner)
        if group_id is not None:
            where.append("group_id=?")
            params.append(group_id)
        if statuses:
            statuses = list(statuses)
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += statuses
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._execute(sql + " ORDER BY created DESC, id DESC LIMIT ?", (*params, limit)).fetchall()
        return [_record(r) for r in rows]

    def queued(self) -> list[RunRecord]:
        rows = self._execute("SELECT * FROM runs WHERE status='queued' ORDER BY created, id").fetchall()
        return [_record(r) for r in rows]

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when the run is not waiting."""
        ids = [r.id for r in self.queued()]
        return ids.index(run_id) + 1 if run_id in ids else None

    def count_active(self) -> int:
        return self._execute("SELECT COUNT(*) FROM runs WHERE status IN ('starting','running')").fetchone()[0]

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._execute("SELECT metrics FROM epochs WHERE run_id=? ORDER BY epoch", (run_id,)).fetchall()
        return [json.loads(r["metrics"]) for r in rows]

    # -- lifecycle ----------------------------------------------------------------------------------
    def claim(self, run_id: str, max_active: int | None = None) -> bool:
        """queued → starting in one statement: only one dispatcher can win a run, and with `max_active`
        the claim fails when that many runs are already starting or running (whoever started them)."""
        limit = "" if max_active is None else (
            " AND (SELECT COUNT(*) FROM runs WHERE status IN ('starting','running')) < ?")
        params = (time.time(), run_id) + (() if max_active is None else (max_active,))
        cur = self._execute(f"UPDATE runs SET status='starting', started=? WHERE id=? AND status='queued'{limit}",
                            params)
        return cur.rowcount == 1

    def claim_next(self, pid: int, max_active: int | None = None) -> str | None:
        """The oldest queued run → starting under `pid` in one statement (a warm worker taking its next
        run); None when the queue is empty or `max_active` runs are already starting or running."""
        limit = "" if max_active is None else (
            " AND (SELECT COUNT(*) FROM runs WHERE status IN ('starting','running')) < ?")
        params = (time.time(), pid) + (() if max_active is None else (max_active,))
        rows = self._execute(
            "UPDATE runs SET status='starting', started=?, pid=? WHERE status='queued' AND id=(SELECT id FROM "
            f"runs WHERE status='queued' ORDER BY created, id LIMIT 1){limit} RETURNING id", params).fetchall()
        return rows[0][0] if rows else None

    def set_pid(self, run_id: str, pid: int) -> None:
        """Record the worker process; `started` moves to now so it is never earlier than that process."""
        self._execute("UPDATE runs SET pid=?, started=? WHERE id=? AND status IN ('starting','running')",
                      (pid, time.time(), run_id))

    def active_runs(self) -> list[RunRecord]:
        """Runs starting or running, oldest first (each names the worker process it is on in `pid`)."""
        rows = self._execute("SELECT * FROM runs WHERE status IN ('starting','running') ORDER BY started").fetchall()
        return [_record(r) for r in rows]

    def mark_running(self, run_id: str, pid: int) -> bool:
        cur = self._execute("UPDATE runs SET status='running', pid=?, started=? "
                            "WHERE id=? AND status IN ('queued','starting')", (pid, time.time(), run_id))
        return cur.rowcount == 1

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

    def request_cancel(self, run_id: str, owner: str | None = None) -> str | None:
        """A queued run is cancelled at once; a running one gets the flag its loop reads. Returns the status,
        or None (nothing done) when the run does not exist or, with `owner`, belongs to another workspace."""
        if self.get(run_id, owner) is None:
            return None
        if self.finish(run_id, "cancelled", error="Cancelled before it started.", from_states=("queued",)):
            return "cancelled"
        self._execute("UPDATE runs SET cancel_requested=1 WHERE id=? AND status IN ('starting','running')", (run_id,))
        record = self.get(run_id)
        return record.status if record else None

    def cancel_requested(self, run_id: str) -> bool:
        row = self._execute("SELECT cancel_requested FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def rename(self, run_id: str, name: str, owner: str | None = None) -> bool:
        mine, params = _owned(owner)
        return self._execute(f"UPDATE runs SET name=? WHERE id=?{mine}",
                             (name.strip()[:200], run_id, *params)).rowcount == 1

    def delete(self, run_id: str, owner: str | None = None) -> bool:
        """Delete a run that is not active (cancel it first); with `owner`, only that workspace's run."""
        mine, params = _owned(owner)
        cur = self._execute(f"DELETE FROM runs WHERE id=? AND status IN ({','.join('?' * len(FINAL))}){mine}",
                            (run_id, *FINAL, *params))
        return cur.rowcount == 1

    def recover_orphans(self, is_alive: Callable[[RunRecord], bool], grace_s: float = 30.0) -> list[str]:
        """Mark runs whose worker process is gone as interrupted (e.g. after a server restart).

        `is_alive(run)` judges the process in `run.pid`. A run claimed moments ago may not have its pid
        yet; it gets `grace_s` before it counts as orphaned.
        """
        now = time.time()
        orphans = [r.id for r in self.active_runs()
                   if (not r.pid and now - (r.started or 0) > grace_s) or (r.pid and not is_alive(r))]
        return [run_id for run_id in orphans if self.finish(
            run_id, "interrupted", error="The worker stopped (server restart or crash) before the run finished; "
            "start it again.", from_states=("starting", "running"))]


def _owned(owner: str | None) -> tuple[str, tuple[str, ...]]:
    """SQL that restricts a statement to one workspace's runs (nothing when `owner` is None)."""
    return ("", ()) if owner is None else (" AND owner=?", (owner,))


def _record(row: sqlite3.Row) -> RunRecord:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    data["result"] = json.loads(data["result"]) if data["result"] else None
    data["cancel_requested"] = bool(data["cancel_requested"])
    return RunRecord(**data)

