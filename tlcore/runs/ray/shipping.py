"""Datasets on their way to the nodes: packed once on the server, put into Ray's object store once per content
hash, and unpacked into a cache on each node keyed by that hash, so a 3-seed comparison sends its data to a
node at most once (and a node that has it already fetches nothing).

A run names its data by a built-in id, an upload handle (`upload:<id>`, see `tlcore.data.library`) or a path on
the server; `server_path` resolves it, on the server, before anything is shipped. An upload travels under its
library id and lands where the node's own library keeps that id (`<node dir>/datasets/<id>/files` or
`…/source.csv`), so the node caches it by the same content id as the server. Anything else is cached by the
sha256 of its packed bytes. Built-in datasets are not shipped: every node reads its own installation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from tlcore.core.errors import DataError
from tlcore.data import builtin, library
from tlcore.runs.ray.packing import pack_path, unpack


@dataclass(frozen=True)
class DataShipment:
    """A dataset on its way to a node. `ref` is wrapped in a list so that Ray does not fetch the bytes when the
    actor is called: the node looks in its cache first and fetches only on a miss."""

    digest: str  # the content id the node caches it under: an upload's library id, else `sha256`
    name: str  # the file or folder name on the server (the node keeps it: a dataset's name comes from it)
    kind: str  # "file" (its bytes) or "folder" (a tar of it)
    size: int
    ref: list[Any]  # [ObjectRef]
    sha256: str  # of the packed bytes: the node checks what arrived


def server_path(data: str) -> Path | None:
    """The file or folder on this server that holds a run's data, or None when there is nothing to ship: a
    built-in dataset id, or an upload or path that is gone (the node's loader then says so, as it would here)."""
    if library.is_upload_ref(data):
        try:
            return library.source_path(data)
        except DataError:
            return None
    if data in builtin.BUILTIN_IDS and not Path(data).exists():
        return None
    path = Path(data).expanduser()
    return path.resolve() if path.exists() else None


class DataShipper:
    """Server side: one `ray.put` per dataset content, shared by every run that uses it and released when no
    run of ours needs it any more. Packing is cached by (path, size, mtime), so a study reads its data once."""

    def __init__(self) -> None:
        # (an upload's id, or the path's stat key) -> (digest, kind, size, sha256)
        self._packed: dict[tuple[Any, ...], tuple[str, str, int, str]] = {}
        self._refs: dict[str, Any] = {}  # digest -> ObjectRef

    def ship(self, data: str) -> DataShipment | None:
        path = server_path(data)
        if path is None:
            return None
        upload = library.upload_id(data) if library.is_upload_ref(data) else None
        key = ("upload", upload) if upload else _stat_key(path)  # a library folder never changes
        known = self._packed.get(key)
        if known is None or known[0] not in self._refs:
            kind, payload = pack_path(path)
            sha256 = hashlib.sha256(payload).hexdigest()
            digest = upload or sha256
            self._packed[key] = known = (digest, kind, len(payload), sha256)
            if digest not in self._refs:
                self._refs[digest] = ray.put(payload)
        digest, kind, size, sha256 = known
        return DataShipment(digest, path.name, kind, size, [self._refs[digest]], sha256)

    def retain(self, digests: set[str]) -> None:
        """Drop our references to data no tracked run uses (Ray frees it once no node holds a reference)."""
        for digest in set(self._refs) - digests:
            del self._refs[digest]


def _stat_key(path: Path) -> tuple[Any, ...]:
    if path.is_file():
        st = path.stat()
        return (str(path), st.st_size, st.st_mtime_ns)
    stats = [p.stat() for p in path.rglob("*") if p.is_file()]
    return (str(path), len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0))


def materialize(shipment: DataShipment, cache_root: Path, fetch: Callable[[Any], bytes] = ray.get
                ) -> tuple[Path, bool]:
    """Node side: the dataset's path in this node's cache (`cache_root/<digest>/<name>`: for an upload, where the
    node's own library keeps it), fetched from the object store (`fetch`) and unpacked on a miss, atomically
    (unpacked beside, then renamed). Returns (path, whether it was fetched now)."""
    target = cache_root / shipment.digest
    final = target / shipment.name
    if final.exists():
        os.utime(target)  # recently used: pruned last
        return final, False
    payload = fetch(shipment.ref[0])
    if hashlib.sha256(payload).hexdigest() != shipment.sha256:
        raise OSError(f"the dataset {shipment.name} arrived damaged (its content hash does not match)")
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{shipment.digest}.", dir=cache_root))
    try:
        if shipment.kind == "file":
            (tmp / shipment.name).write_bytes(payload)
        else:
            unpack(payload, tmp / shipment.name)
        try:
            tmp.rename(target)
        except OSError:  # another run on this node unpacked the same data first
            if not final.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def prune_cache(cache_root: Path, keep_bytes: int, keep: frozenset[str] = frozenset()) -> list[str]:
    """Delete the least recently used datasets (never those in `keep`) until the cache holds at most
    `keep_bytes`; returns the digests deleted."""
    if not cache_root.is_dir():
        return []
    entries = []
    for d in cache_root.iterdir():
        if d.is_dir() and not d.name.startswith("."):
            entries.append((d.stat().st_mtime, sum(p.stat().st_size for p in d.rglob("*") if p.is_file()), d))
    total, removed = sum(e[1] for e in entries), []
    for _, size, d in sorted(entries):
        if total <= keep_bytes:
            break
        if d.name in keep:
            continue
        shutil.rmtree(d, ignore_errors=True)
        total -= size
        removed.append(d.name)
    return removed
