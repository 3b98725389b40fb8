"""Workspace rows and upload rows.

A workspace exists only once this server created it (anonymous: for a browser session; account: for a
signed-in identity), so an id typed into a link is recognised or refused, never adopted. An upload row says
that a workspace may use a stored dataset (`tlcore.data.library`), under which name, and what it is charged.
"""

from __future__ import annotations

import json
import time

from tlcore.runs.store.database import Database

KINDS = ("anonymous", "account")


class WorkspaceQueries(Database):
    def add_workspace(self, workspace_id: str, kind: str, client: str = "") -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        self._execute("INSERT OR IGNORE INTO workspaces (id, kind, client, created) VALUES (?, ?, ?, ?)",
                      (workspace_id, kind, client, time.time()))

    def workspace_kind(self, workspace_id: str) -> str | None:
        row = self._execute("SELECT kind FROM workspaces WHERE id=?", (workspace_id,)).fetchone()
        return row[0] if row else None

    def workspaces_created_since(self, client: str, since: float) -> int:
        return self._execute("SELECT COUNT(*) FROM workspaces WHERE client=? AND created>=?",
                             (client, since)).fetchone()[0]

    def workspace_client(self, workspace_id: str) -> str:
        row = self._execute("SELECT client FROM workspaces WHERE id=?", (workspace_id,)).fetchone()
        return row[0] if row else ""

    def active_runs_of_client(self, client: str) -> int:
        """Runs waiting or running in all the workspaces opened from `client`."""
        return self._execute("SELECT COUNT(*) FROM runs JOIN workspaces w ON w.id = runs.owner WHERE w.client=? "
                             "AND runs.status IN ('queued','starting','running')", (client,)).fetchone()[0]

    def add_upload(self, workspace: str, dataset: str, name: str, nbytes: int) -> None:
        """Let `workspace` use `dataset` under `name` (the same upload again keeps one row)."""
        self._execute("INSERT INTO uploads (workspace, dataset, name, bytes, created) VALUES (?, ?, ?, ?, ?) "
                      "ON CONFLICT (workspace, dataset) DO UPDATE SET name=excluded.name, bytes=excluded.bytes",
                      (workspace, dataset, name, nbytes, time.time()))

    def upload_name(self, workspace: str, dataset: str) -> str | None:
        """The name `workspace` gave `dataset`, or None when it never uploaded it."""
        row = self._execute("SELECT name FROM uploads WHERE workspace=? AND dataset=?",
                            (workspace, dataset)).fetchone()
        return row[0] if row else None

    def upload_bytes(self, workspace: str) -> int:
        row = self._execute("SELECT COALESCE(SUM(bytes), 0) FROM uploads WHERE workspace=?", (workspace,)).fetchone()
        return int(row[0])

    def datasets_in_use(self) -> set[str]:
        return {r[0] for r in self._execute("SELECT DISTINCT dataset FROM uploads")}

    def runs_use_data(self, ref: str) -> bool:
        """Whether any run was configured with the dataset handle `ref`."""
        pattern = '%"data": ' + json.dumps(ref) + "%"
        return self._execute("SELECT 1 FROM runs WHERE config LIKE ? LIMIT 1", (pattern,)).fetchone() is not None
