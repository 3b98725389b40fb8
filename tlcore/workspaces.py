"""Workspaces: who may see which runs and uploads, read-only share links, and per-workspace limits.

A workspace id is an unguessable token (`secrets.token_urlsafe`): whoever holds it — in practice, the
browser's URL `?ws=…` — can see, cancel and delete that workspace's runs, and nobody else can. Runs and
studies carry it in their `owner` column; uploads live under `<data dir>/uploads/<workspace>/`.
A signed-in person gets a workspace derived from their identity with a server secret (HMAC), so the same
account finds the same workspace from any device, and knowing someone's e-mail address does not give it.

Share links are separate tokens that open one comparison or study read-only; they never reveal the
workspace id. Limits (`Limits.max_queued_per_workspace`, `Limits.max_workspace_mb`) are checked before
anything is queued or stored, with a plain message. The empty owner `""` (the command line) has no limits.

    ws = new_workspace()
    check_room(store, ws, new_runs=6)              # UserError when the queue or storage limit would be passed
    token = create_share(store, ws, "comparison", group_id)
    resolve_share(store, token)                    # ("comparison", group_id), or None
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from pathlib import Path

from tlcore import settings
from tlcore.errors import UserError
from tlcore.runs.store import ACTIVE, RunStore
from tlcore.runs.paths import run_dir
from tlcore.settings import Limits

SHARE_KINDS = ("comparison", "study")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TARGET_OWNED = {"comparison": "SELECT 1 FROM runs WHERE group_id=? AND owner=? LIMIT 1",
                 "study": "SELECT 1 FROM studies WHERE id=? AND owner=?"}


# -- workspace ids -------------------------------------------------------------------------------------------
def new_workspace() -> str:
    """A fresh workspace id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def is_workspace_id(value: str | None) -> bool:
    """True for something shaped like a workspace id (it also becomes a folder name, so nothing else passes)."""
    return bool(value) and _TOKEN.fullmatch(value) is not None


def workspace_for_identity(issuer: str, subject: str) -> str:
    """The workspace of a signed-in account: the same for the same (issuer, subject), unguessable without
    this server's secret."""
    digest = hmac.new(_server_secret(), f"{issuer}\n{subject}".encode(), hashlib.sha256).digest()
    return "u" + digest[:18].hex()


def _server_secret() -> bytes:
    """A random key kept in the data directory (mode 0600), created on first use by whichever process wins."""
    path = settings.data_dir() / "workspace-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # created with mode 0600
        try:
            os.write(fd, secrets.token_bytes(32))
            os.close(fd)
            os.link(tmp, path)  # atomic, and fails if another process created the key first
        except FileExistsError:
            pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    return path.read_bytes()


# -- uploads ------------------------------------------------------------------------------------------------
def uploads_dir(workspace: str = "") -> Path:
    """Where a workspace's uploads are stored; the shared root for the command line's empty workspace."""
    root = settings.data_dir() / "uploads"
    if not workspace:
        return root
    if not is_workspace_id(workspace):
        raise ValueError(f"not a workspace id: {workspace!r}")
    return root / workspace


def may_read_source(workspace: str, source: str) -> bool:
    """A page may load a built-in dataset, or a file or folder inside this workspace's own uploads; any
    other path (another workspace's upload, a file on the server) is refused."""
    from tlcore.data.builtin import BUILTIN_IDS  # lazy: tlcore.data imports the upload helpers
    if source in BUILTIN_IDS:
        return True
    if not is_workspace_id(workspace) or not source or not Path(source).is_absolute():
        return False
    try:
        return Path(source).resolve().is_relative_to(uploads_dir(workspace).resolve())
    except (OSError, ValueError):
        return False


# -- limits -------------------------------------------------------------------------------------------------
def _folder_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed while we were counting
                pass
    return total


def usage_bytes(store: RunStore, workspace: str) -> int:
    """Disk used by a workspace: its uploads plus the saved files (weights, predictions) of its runs."""
    runs = store.list_runs(owner=workspace, limit=1_000_000)
    return _folder_bytes(uploads_dir(workspace)) + sum(_folder_bytes(run_dir(r.id)) for r in runs)


def _mb(n: float) -> str:
    mb = n / 2**20
    return f"{mb:,.1f} MB" if mb < 10 else f"{mb:,.0f} MB"


def describe_usage(store: RunStore, workspace: str, limits: Limits | None = None) -> str:
    """One plain sentence on the workspace's storage and its limit, for the Runs page."""
    limits = limits or Limits.from_env()
    return (f"This workspace stores {_mb(usage_bytes(store, workspace))} of uploads and trained models "
            f"(limit {_mb(limits.max_workspace_mb * 2**20)}).")


def check_room(store: RunStore, workspace: str, new_runs: int = 0, new_bytes: int = 0,
               limits: Limits | None = None) -> None:
    """Raise UserError (plain words) if queuing `new_runs` runs or storing `new_bytes` more bytes would pass
    this workspace's limits. Call it before queuing anything, with the total, so nothing is half-queued."""
    if not workspace:
        return
    limits = limits or Limits.from_env()
    if new_runs:
        active = len(store.list_runs(owner=workspace, statuses=ACTIVE, limit=1_000_000))
        if active + new_runs > limits.max_queued_per_workspace:
            raise UserError(
                f"This workspace already has {active} run(s) waiting or running, and {new_runs} more would pass "
                f"its limit of {limits.max_queued_per_workspace}. Wait for some to finish, or cancel some on the "
                "Train page, then start again with fewer strategies or seeds.")
    used, cap = usage_bytes(store, workspace), limits.max_workspace_mb * 2**20
    if used + new_bytes > cap or (new_runs and used >= cap):
        what = (f"Adding {_mb(new_bytes)} would take it past its limit of {_mb(cap)}." if new_bytes else
                f"That reaches its limit of {_mb(cap)}, so no new runs can start.")
        raise UserError(f"This workspace stores {_mb(used)} of uploads and trained models. {what} Delete runs you "
                        "no longer need on the Runs page to make room.")


# -- share links ----------------------------------------------------------------------------------------------
def create_share(store: RunStore, owner: str, kind: str, target_id: str) -> str:
    """A read-only link token for one of the owner's comparisons or studies (the same token when asked again)."""
    if kind not in SHARE_KINDS:
        raise ValueError(f"kind must be one of {SHARE_KINDS}, not {kind!r}")
    if not owner or store._execute(_TARGET_OWNED[kind], (target_id, owner)).fetchone() is None:
        raise UserError(f"That {kind} was not found in this workspace, so it cannot be shared.")
    store._execute("INSERT OR IGNORE INTO shares (token, kind, target, owner, created) VALUES (?, ?, ?, ?, ?)",
                   (secrets.token_urlsafe(16), kind, target_id, owner, time.time()))
    row = store._execute("SELECT token FROM shares WHERE owner=? AND kind=? AND target=?",
                         (owner, kind, target_id)).fetchone()
    return row[0]


def resolve_share(store: RunStore, token: str | None) -> tuple[str, str] | None:
    """(kind, target id) of a share link, or None for an unknown or revoked token."""
    if not is_workspace_id(token):
        return None
    row = store._execute("SELECT kind, target FROM shares WHERE token=?", (token,)).fetchone()
    return (row[0], row[1]) if row else None


def revoke_share(store: RunStore, owner: str, token: str) -> bool:
    """Stop a share link from working; only its owner can."""
    return store._execute("DELETE FROM shares WHERE token=? AND owner=?", (token, owner)).rowcount == 1
