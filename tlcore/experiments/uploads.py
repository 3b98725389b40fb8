"""Taking an upload for a workspace: check the room, store it by content (`tlcore.data.library`), charge it at
its unpacked size, and record that this workspace may use it under its file name. Returns the handle that
pages, URLs and run configs use from then on."""

from __future__ import annotations

import shutil

from tlcore.core.errors import UserError
from tlcore.core.settings import Limits
from tlcore.data import library
from tlcore.experiments.quotas import check_room
from tlcore.runs.store import RunStore


def upload_file(store: RunStore, workspace: str, filename: str, data: bytes, limits: Limits | None = None) -> str:
    """A zip or a table; UserError (nothing kept) when it is refused or does not fit."""
    limits = limits or Limits.from_env()
    check_room(store, workspace, new_bytes=len(data), limits=limits)
    stored = library.store_file(filename, data, limits)
    return _register(store, workspace, stored, library.display_name(filename), limits)


def upload_folder(store: RunStore, workspace: str, files: list[tuple[str, bytes]],
                  limits: Limits | None = None) -> str:
    """A folder of class folders, given as (relative name, bytes) pairs."""
    limits = limits or Limits.from_env()
    check_room(store, workspace, new_bytes=sum(len(data) for _, data in files), limits=limits)
    stored = library.store_folder(files, limits)
    return _register(store, workspace, stored, folder_name(files), limits)


def folder_name(files: list[tuple[str, bytes]]) -> str:
    """The uploaded folder's own name when every file lies in it, else a plain description."""
    tops = {name.replace("\\", "/").strip("/").split("/", 1)[0] for name, _ in files}
    nested = all("/" in name.replace("\\", "/").strip("/") for name, _ in files)
    return library.display_name(tops.pop()) if len(tops) == 1 and nested else "uploaded folder"


def _register(store: RunStore, workspace: str, stored: library.StoredUpload, name: str, limits: Limits) -> str:
    if workspace and store.upload_name(workspace, stored.id) is None:
        try:
            check_room(store, workspace, new_bytes=stored.bytes, limits=limits)  # unpacked, now that it is known
        except UserError:
            _discard_if_unused(store, stored)
            raise
    if workspace:
        store.add_upload(workspace, stored.id, name, stored.bytes)
    return stored.ref


def _discard_if_unused(store: RunStore, stored: library.StoredUpload) -> None:
    """An upload refused after storing goes again, unless another workspace or a run already uses it."""
    if stored.id not in store.datasets_in_use() and not store.runs_use_data(stored.ref):
        shutil.rmtree(library.root() / stored.id, ignore_errors=True)
