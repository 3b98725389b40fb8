"""Where a run on a Ray cluster is, for the Ray executor (never for pages): the server watching it and that
server's lease, the worker (a named Ray actor) it is on, its attempt, and one row per attempt with the node
it ran on and how it ended.

A server renews the lease of its runs on every pump; a run whose server has been silent longer than the
lease is taken over by another server (or the same one restarted) with a compare-and-swap, so exactly one
server watches each run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tlcore.runs.store.database import Database
from tlcore.runs.store.lifecycle import took_turn

_ACTIVE_RUN = "run_id IN (SELECT id FROM runs WHERE status IN ('starting','running'))"


@dataclass(frozen=True)
class Placement:
    run_id: str
    server: str  # the app server (or CLI) watching the run
    lease: float  # when that server last said it is alive (time.time())
    worker: str  # the name of the Ray actor the run is on
    attempt: int
    node_id: str | None  # the Ray node, once the worker has said where it runs


class PlacementQueries(Database):
    def claim_remote(self, run_id: str, *, server: str, worker: str, max_active: int | None = None) -> bool:
        """queued → starting for a run that `server` hands to the Ray worker `worker`, in one transaction:
        only one server wins a run, and a claimed run always has its placement."""
        limit = "" if max_active is None else \
            " AND (SELECT COUNT(*) FROM runs WHERE status IN ('starting','running')) < ?"
        with self._transaction() as conn:
            now = time.time()
            rows = conn.execute(f"UPDATE runs SET status='starting', started=?, executor='ray' "
                                f"WHERE id=? AND status='queued'{limit} RETURNING owner",
                                (now, run_id, *(() if max_active is None else (max_active,)))).fetchall()
            if not rows:
                return False
            took_turn(conn, rows[0]["owner"], now)
            conn.execute("INSERT OR REPLACE INTO placements VALUES (?, ?, ?, ?, 1, NULL)",
                         (run_id, server, time.time(), worker))
        return True

    def relaunched(self, run_id: str, *, worker: str, attempt: int) -> None:
        """The run moves to another worker: a retry on a new attempt, or a warm worker that was lost first."""
        self._execute("UPDATE placements SET worker=?, attempt=?, node_id=NULL, lease=? WHERE run_id=?",
                      (worker, attempt, time.time(), run_id))

    def placed(self, run_id: str, *, node: str, node_id: str, pid: int) -> bool:
        """The worker said where it runs: the run is running there (this attempt's row names the node)."""
        with self._transaction() as conn:
            row = conn.execute("SELECT attempt FROM placements WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE placements SET node_id=? WHERE run_id=?", (node_id, run_id))
            conn.execute("INSERT OR REPLACE INTO run_attempts VALUES (?, ?, ?, NULL)", (run_id, row[0], node))
            cur = conn.execute("UPDATE runs SET status='running', pid=?, node=?, started=COALESCE(started, ?) "
                               "WHERE id=? AND status IN ('starting','running')", (pid, node, time.time(), run_id))
        return cur.rowcount == 1

    def attempt_ended(self, run_id: str, how: str) -> None:
        """Close the current attempt with how it ended (a final status, or 'retried')."""
        self._execute("INSERT INTO run_attempts (run_id, attempt, ended) SELECT run_id, attempt, ? FROM placements "
                      "WHERE run_id=? ON CONFLICT(run_id, attempt) DO UPDATE SET ended=excluded.ended",
                      (how, run_id))

    def placement(self, run_id: str) -> Placement | None:
        row = self._execute("SELECT * FROM placements WHERE run_id=?", (run_id,)).fetchone()
        return Placement(**dict(row)) if row else None

    def attempts(self, run_id: str) -> list[dict[str, Any]]:
        """Each attempt of a run: its number, the node it ran on and how it ended (None while it runs)."""
        rows = self._execute("SELECT attempt, node, ended FROM run_attempts WHERE run_id=? ORDER BY attempt",
                             (run_id,)).fetchall()
        return [dict(r) for r in rows]

    def renew_lease(self, server: str) -> None:
        self._execute(f"UPDATE placements SET lease=? WHERE server=? AND {_ACTIVE_RUN}", (time.time(), server))

    def release_lease(self, server: str) -> None:
        """A server stopping cleanly: another may take its runs over at once, not only after the lease."""
        self._execute(f"UPDATE placements SET lease=0 WHERE server=? AND {_ACTIVE_RUN}", (server,))

    def stale_placements(self, stale_before: float) -> list[Placement]:
        """Active runs whose server has not renewed its lease since `stale_before`."""
        rows = self._execute(f"SELECT * FROM placements WHERE lease<? AND {_ACTIVE_RUN} ORDER BY lease",
                             (stale_before,)).fetchall()
        return [Placement(**dict(r)) for r in rows]

    def take_over(self, run_id: str, *, old_server: str, new_server: str, stale_before: float) -> bool:
        """Compare-and-swap: one server takes over a run, and only while its old server is still silent."""
        cur = self._execute("UPDATE placements SET server=?, lease=? WHERE run_id=? AND server=? AND lease<?",
                            (new_server, time.time(), run_id, old_server, stale_before))
        return cur.rowcount == 1
