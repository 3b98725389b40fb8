"""Share rows: a token opens one comparison (a run group) or one study of a workspace, read-only."""

from __future__ import annotations

import secrets
import time

from tlcore.runs.store.database import Database

SHARE_KINDS = ("comparison", "study")
_TARGET_OWNED = {"comparison": "SELECT 1 FROM runs WHERE group_id=? AND owner=? LIMIT 1",
                 "study": "SELECT 1 FROM studies WHERE id=? AND owner=?"}


class ShareQueries(Database):
    def owns(self, owner: str, kind: str, target_id: str) -> bool:
        """Whether `target_id` (a comparison or study) belongs to the workspace `owner`."""
        if kind not in SHARE_KINDS:
            raise ValueError(f"kind must be one of {SHARE_KINDS}, not {kind!r}")
        return bool(owner) and self._execute(_TARGET_OWNED[kind], (target_id, owner)).fetchone() is not None

    def create_share(self, owner: str, kind: str, target_id: str) -> str:
        """A token for one of the owner's comparisons or studies (the same token when asked again). The
        caller checks `owns` first."""
        with self._transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO shares (token, kind, target, owner, created) VALUES (?, ?, ?, ?, ?)",
                         (secrets.token_urlsafe(16), kind, target_id, owner, time.time()))
            row = conn.execute("SELECT token FROM shares WHERE owner=? AND kind=? AND target=?",
                               (owner, kind, target_id)).fetchone()
        return row[0]

    def resolve_share(self, token: str) -> tuple[str, str] | None:
        """(kind, target id) of a share token, or None for an unknown or revoked one."""
        row = self._execute("SELECT kind, target FROM shares WHERE token=?", (token,)).fetchone()
        return (row[0], row[1]) if row else None

    def revoke_share(self, owner: str, token: str) -> bool:
        return self._execute("DELETE FROM shares WHERE token=? AND owner=?", (token, owner)).rowcount == 1
