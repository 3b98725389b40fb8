"""What a workspace, and the whole server, may hold: runs waiting or running, and disk.

Checked before anything is queued or stored, with a plain message saying what to do. The command line (the
empty workspace "") is the host's own and has no per-workspace limits; the server-wide ones hold for it too.
Uploads are charged to each workspace that uploaded them, at their unpacked size.
"""

from __future__ import annotations

import os
from pathlib import Path

from tlcore.core.errors import UserError
from tlcore.core.settings import Limits
from tlcore.data import library
from tlcore.runs.paths import run_dir, runs_root
from tlcore.runs.store import ACTIVE, EVERYONE, RunStore


def folder_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # removed while we were counting
                pass
    return total


def usage_bytes(store: RunStore, workspace: str) -> int:
    """Disk charged to a workspace: its uploads (unpacked) plus the saved files of its runs."""
    runs = store.list_runs(owner=workspace, limit=1_000_000)
    return store.upload_bytes(workspace) + sum(folder_bytes(run_dir(r.id)) for r in runs)


def server_bytes() -> int:
    """Uploads and trained models on this server (caches have their own budget, see `diskcache`)."""
    return folder_bytes(library.root()) + folder_bytes(runs_root())


def mb(n: float) -> str:
    value = n / 2**20
    return f"{value:,.1f} MB" if value < 10 else f"{value:,.0f} MB"


def describe_usage(store: RunStore, workspace: str, limits: Limits | None = None) -> str:
    """One plain sentence on the workspace's storage and its limit, for the Runs page."""
    limits = limits or Limits.from_env()
    return (f"This workspace stores {mb(usage_bytes(store, workspace))} of uploads and trained models "
            f"(limit {mb(limits.max_workspace_mb * 2**20)}).")


def check_room(store: RunStore, workspace: str, new_runs: int = 0, new_bytes: int = 0,
               limits: Limits | None = None) -> None:
    """Raise UserError (plain words) if queuing `new_runs` runs or storing `new_bytes` more bytes would pass
    this workspace's or the server's limits. Call it before queuing anything, with the total."""
    limits = limits or Limits.from_env()
    _check_server(store, new_runs, new_bytes, limits)
    if workspace:
        _check_workspace(store, workspace, new_runs, new_bytes, limits)


def _check_server(store: RunStore, new_runs: int, new_bytes: int, limits: Limits) -> None:
    if new_runs:
        waiting = store.count_runs(owner=EVERYONE, statuses=ACTIVE)
        if waiting + new_runs > limits.max_queued_total:
            raise UserError(f"The server already has {waiting} run(s) waiting or running for everyone, and "
                            f"{new_runs} more would pass its limit of {limits.max_queued_total}. Try again when "
                            "some have finished.")
    if new_bytes and server_bytes() + new_bytes > limits.max_disk_mb * 2**20:
        raise UserError(f"The server's storage for uploads and trained models is full (limit "
                        f"{mb(limits.max_disk_mb * 2**20)}); nothing was stored. Try a smaller upload, or ask the "
                        "host to make room.")


def _check_workspace(store: RunStore, workspace: str, new_runs: int, new_bytes: int, limits: Limits) -> None:
    client = store.workspace_client(workspace) if new_runs else ""
    if client:  # new workspaces are cheap to open (30 an hour): their runs count together too
        from_client = store.active_runs_of_client(client)
        if from_client + new_runs > limits.max_queued_per_client:
            raise UserError(f"Your network already has {from_client} run(s) waiting or running (in all its "
                            f"workspaces), and {new_runs} more would pass the limit of "
                            f"{limits.max_queued_per_client}. Wait for some to finish, then start again.")
    if new_runs:
        active = store.count_runs(owner=workspace, statuses=ACTIVE)
        if active + new_runs > limits.max_queued_per_workspace:
            raise UserError(
                f"This workspace already has {active} run(s) waiting or running, and {new_runs} more would pass "
                f"its limit of {limits.max_queued_per_workspace}. Wait for some to finish, or cancel some on the "
                "Train page, then start again with fewer strategies or seeds.")
    used, cap = usage_bytes(store, workspace), limits.max_workspace_mb * 2**20
    if used + new_bytes > cap or (new_runs and used >= cap):
        what = (f"Adding {mb(new_bytes)} would take it past its limit of {mb(cap)}." if new_bytes else
                f"That reaches its limit of {mb(cap)}, so no new runs can start.")
        raise UserError(f"This workspace stores {mb(used)} of uploads and trained models. {what} Delete runs you "
                        "no longer need on the Runs page to make room.")
