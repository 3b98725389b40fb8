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
import secrets
import tempfile
from pathlib import Path

from tlcore.core import settings
from tlcore.core.errors import UserError
from tlcore.core.settings import Limits
from tlcore.data.builtin import BUILTIN_IDS
from tlcore.data.uploads import is_workspace_id, uploads_dir
from tlcore.runs.paths import run_dir
from tlcore.runs.store import ACTIVE, SHARE_KINDS, RunStore


# -- workspace ids -------------------------------------------------------------------------------------------
def new_workspace() -> str:
    """A fresh workspace id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


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
def may_read_source(workspace: str, source: str) -> bool:
    """A page may load a built-in dataset, or a file or folder inside this workspace's own uploads; any
    other path (another workspace's upload, a file on the server) is refused."""
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
        active = store.count_runs(owner=workspace, statuses=ACTIVE)
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
    if not store.owns(owner, kind, target_id):
        raise UserError(f"That {kind} was not found in this workspace, so it cannot be shared.")
    return store.create_share(owner, kind, target_id)


def resolve_share(store: RunStore, token: str | None) -> tuple[str, str] | None:
    """(kind, target id) of a share link, or None for an unknown or revoked token."""
    return store.resolve_share(token) if is_workspace_id(token) else None


def revoke_share(store: RunStore, owner: str, token: str) -> bool:
    """Stop a share link from working; only its owner can."""
    return store.revoke_share(owner, token)
