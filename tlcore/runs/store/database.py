"""The SQLite file behind the run store: WAL mode, one connection per thread and process, numbered migrations.

Schema changes go through a new entry in MIGRATIONS, never a silent drop; a file written by a newer version
is refused with a plain message.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from tlcore.core import settings
from tlcore.core.errors import UserError
from tlcore.runs.store.legacy import import_legacy_uploads

MIGRATIONS: list[str | Callable[[sqlite3.Connection], Callable[[], None] | None]] = [
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
    # 3: read-only share links to one comparison (a run group) or study of a workspace
    """
    CREATE TABLE shares (
        token TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, owner TEXT NOT NULL,
        created REAL NOT NULL);
    CREATE UNIQUE INDEX shares_target ON shares(owner, kind, target);
    """,
    # 4: workspaces exist only once this server created them; uploads say which workspace may use which stored
    # dataset (tlcore.data.library) under which name. Workspaces that already own runs are kept (their links work).
    """
    CREATE TABLE workspaces (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, client TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
    CREATE INDEX workspaces_client ON workspaces(client, created);
    CREATE TABLE uploads (
        workspace TEXT NOT NULL, dataset TEXT NOT NULL, name TEXT NOT NULL, bytes INTEGER NOT NULL,
        created REAL NOT NULL, PRIMARY KEY (workspace, dataset));
    CREATE INDEX runs_owner_started ON runs(owner, started);
    INSERT OR IGNORE INTO workspaces (id, kind, created)
        SELECT owner, CASE WHEN length(owner) = 37 AND owner GLOB 'u*' THEN 'account' ELSE 'anonymous' END, 0
        FROM (SELECT owner FROM runs UNION SELECT owner FROM studies UNION SELECT owner FROM shares) WHERE owner != ''
    """,
    # 5: uploads stored the old way (under uploads/<workspace>/, referred to by their path) move into the library
    import_legacy_uploads,
    # 6: when each workspace last had a run start, kept apart from its runs: deleting finished runs must not
    # win a workspace the next turn of the queue (see runs.round_robin)
    """
    CREATE TABLE turns (owner TEXT PRIMARY KEY, last REAL NOT NULL);
    INSERT INTO turns (owner, last)
        SELECT owner, MAX(started) FROM runs WHERE started IS NOT NULL GROUP BY owner
    """,
    # 7: runs on other machines (the Ray executor): which executor started a run and the node it ran on; the
    # server that watches it (its lease) and the worker it is on; one row per attempt (a node died → retried)
    """
    ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE runs ADD COLUMN node TEXT;
    CREATE TABLE placements (
        run_id TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE, server TEXT NOT NULL, lease REAL NOT NULL,
        worker TEXT NOT NULL, attempt INTEGER NOT NULL, node_id TEXT);
    CREATE INDEX placements_server ON placements(server);
    CREATE TABLE run_attempts (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, attempt INTEGER NOT NULL, node TEXT,
        ended TEXT, PRIMARY KEY (run_id, attempt));
    """,
    # 8: what a run expects of its worker (tlcore.runs.worker_key): a worker that outlived its command takes only
    # runs queued with its own code and settings
    "ALTER TABLE runs ADD COLUMN worker_key TEXT",
]


class Database:
    """Thread-safe by construction: each thread lazily opens its own connection."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else settings.data_dir() / "runs.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error (the write lock is taken at once)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def batch(self) -> AbstractContextManager[sqlite3.Connection]:
        """Several store calls of this thread as one transaction (e.g. a batch of relayed progress writes)."""
        return self._transaction()

    def _migrate(self) -> None:
        """Run the migrations this file has not seen, in one transaction. A Python step may return a function to
        call once that transaction has committed (e.g. removing files it moved)."""
        after_commit = []
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row["value"]) if row else 0
            if version > len(MIGRATIONS):
                raise UserError(f"The run store at {self.path} was written by a newer Transfer Lab "
                                f"(schema {version}); upgrade this installation.")
            for step in MIGRATIONS[version:]:
                if callable(step):
                    after_commit.append(step(conn))
                    continue
                for statement in filter(str.strip, step.split(";")):
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(len(MIGRATIONS)),))
        for cleanup in filter(None, after_commit):
            cleanup()

    def _execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn().execute(sql, tuple(params))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
