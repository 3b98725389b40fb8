"""Files the engine can always rebuild (decoded images, frozen features, splits): written atomically, and kept under a
disk budget by evicting the least recently used ones.

A cache file is "used" when it is written or read (its access time is set on a hit), so eviction removes what
nobody has needed for the longest time. Losing a cache file only costs time: readers treat a missing or
damaged file as a miss.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tlcore.core import settings
from tlcore.core.settings import Limits

log = logging.getLogger(__name__)


def cache_root() -> Path:
    return settings.data_dir() / "cache"


def store(path: Path, write: Callable[[str], None], root: Path | None = None) -> None:
    """Write a cache file atomically, then keep the whole cache `root` (default: the data directory's) under
    `max_cache_mb` (least recently used files go first, never this one). A cache that cannot be written (full
    disk) only costs speed next time."""
    try:
        write_atomic(path, write)
    except OSError as exc:
        log.warning("could not write cache file %s: %s", path, exc)
        return
    evict(root or cache_root(), Limits.from_env().max_cache_mb * 2**20, keep=path)


def write_atomic(path: Path, write: Callable[[str], None]) -> None:
    """`write(tmp_path)`, then rename into place: a reader sees the whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def touch(path: Path) -> None:
    """Mark a cache file as just used (a hit), so eviction keeps it longer: its access time is set explicitly
    (mounts with noatime/relatime would not), its modification time still says when it was written."""
    try:
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
    except OSError:
        pass


SPLITS_FOLDER = "splits"
# decoded images at the top; frozen features, exported bodies and datasets' splits below
ENGINE_FOLDERS = (".", "features", "onnx", "pretrained", SPLITS_FOLDER)


def usage(root: Path) -> list[tuple[float, int, Path]]:
    """(last use, size, path) of every cache file the engine wrote under `root` (temporary files left out).
    Other folders there (`torch/`, `huggingface/`: downloaded weights, when TORCH_HOME/HF_HOME point inside) are
    never counted nor evicted."""
    found = []
    for folder in ENGINE_FOLDERS:
        try:
            entries = list(os.scandir(root / folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(".tmp") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # evicted meanwhile by another process
                continue
            found.append((max(st.st_atime, st.st_mtime), st.st_size, Path(entry.path)))
    return found


def evict(root: Path, max_bytes: int, keep: Path | None = None) -> int:
    """Remove the least recently used files under `root` until it holds at most `max_bytes` (never `keep`,
    the file just written). Returns the bytes freed."""
    files = sorted(usage(root))
    total = sum(size for _, size, _ in files)
    freed = 0
    for _, size, path in files:
        if total - freed <= max_bytes:
            break
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
            freed += size
        except OSError as exc:  # removed meanwhile by another process: fine
            log.debug("could not evict %s: %s", path, exc)
    return freed
