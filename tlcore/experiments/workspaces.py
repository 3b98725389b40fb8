"""Workspaces: who may see which runs and uploads, and read-only share links.

A workspace exists only once this server created it, and is recorded in the run store:
- anonymous: created for a browser session, named by an unguessable token (`secrets.token_urlsafe`, 128 bits)
  that the session keeps in its URL (`?ws=`): whoever holds that link can see, cancel and delete its runs.
  Creating them is rate-limited per client, so nobody can mint workspaces (and their quotas) by the thousand.
- account: derived from a signed-in identity with a server secret (HMAC), so the same account finds the same
  workspace from any device; it is never accepted from a link.
A link naming anything else (a typo, a made-up or an account's id) opens nothing.

Share links are separate tokens that open one comparison or study read-only; they never reveal the workspace.
Uploads are stored once by content (`tlcore.data.library`); a workspace may use one only if it uploaded it.
Limits on what a workspace and the whole server may hold are in `tlcore.experiments.quotas`.
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

from tlcore.core import settings
from tlcore.core.errors import UserError
from tlcore.core.settings import Limits
from tlcore.data import library
from tlcore.data.builtin import BUILTIN_IDS
from tlcore.runs.store import SHARE_KINDS, RunStore

_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)
_HOUR = 3600.0


# -- workspaces ----------------------------------------------------------------------------------------------
def client_from(peer: str | None, forwarded_for: str | None, hops: int | None = None) -> str:
    """The visitor's address. `peer` is who connected (None: this machine, e.g. a proxy on the same host); each
    of the `hops` proxies in front appends the address it saw to X-Forwarded-For, so the visitor is the
    `hops`-th entry from the end (entries before it are whatever the visitor sent, and are ignored). Behind an
    unconfigured proxy every visitor would share its address, and one limit."""
    hops = settings.proxy_hops() if hops is None else hops
    if hops is None:
        hops = 0 if peer else 1
    seen = [a.strip() for a in (forwarded_for or "").split(",") if a.strip()]
    if hops and len(seen) >= hops:
        return seen[-hops]
    return peer or "local"


def new_workspace(store: RunStore, client: str = "") -> str:
    """A fresh anonymous workspace for a browser session from `client` (its address); UserError when that
    client has created `max_new_workspaces_per_hour` already."""
    limit = Limits.from_env().max_new_workspaces_per_hour
    if store.workspaces_created_since(client, time.time() - _HOUR) >= limit:
        raise UserError("Too many new workspaces were opened from your network in the last hour. Open your "
                        "earlier link (its address ends in ?ws=…) to get back to your work, or try again later.")
    workspace = secrets.token_urlsafe(16)
    store.add_workspace(workspace, "anonymous", client)
    return workspace


def is_anonymous_workspace(store: RunStore, value: str | None) -> bool:
    """True only for an anonymous workspace this server created (an account's id never opens from a link)."""
    return bool(value) and _TOKEN.fullmatch(value) is not None and store.workspace_kind(value) == "anonymous"


def workspace_for_identity(store: RunStore, issuer: str, subject: str) -> str:
    """The workspace of a signed-in account: the same for the same (issuer, subject), unguessable without
    this server's secret."""
    digest = hmac.new(_server_secret(), f"{issuer}\n{subject}".encode(), hashlib.sha256).digest()
    workspace = "u" + digest[:18].hex()
    store.add_workspace(workspace, "account")
    return workspace


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


# -- data ----------------------------------------------------------------------------------------------------
def may_use_data(store: RunStore, workspace: str, ref: str | None) -> bool:
    """A built-in dataset, or an upload this workspace made; nothing else (another workspace's upload, a path
    on the server) may be opened from a page."""
    if ref in BUILTIN_IDS:
        return True
    return (bool(workspace) and library.is_upload_ref(ref)
            and store.upload_name(workspace, library.upload_id(ref)) is not None)


def data_label(store: RunStore, owner: str, ref: str, data_name: str = "") -> str:
    """How people see a dataset: a built-in's id, an upload's file name (never a server path)."""
    if not library.is_upload_ref(ref):
        return ref if ref in BUILTIN_IDS else library.display_name(Path(ref).name)
    return data_name or store.upload_name(owner, library.upload_id(ref)) or "an upload"


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
    return store.resolve_share(token) if token and _TOKEN.fullmatch(token) else None


def revoke_share(store: RunStore, owner: str, token: str) -> bool:
    """Stop a share link from working; only its owner can."""
    return store.revoke_share(owner, token)
