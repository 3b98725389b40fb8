"""Files as bytes and back, for what travels between the server and the nodes: a dataset (a file, or a folder
as a tar) on its way out, a run folder (a tar of its files) on its way back.

Tars are uncompressed (weights and images do not compress; gzip would only cost CPU) and normalised (sorted
names, no times or owners), so the same content always packs to the same bytes and the same hash. Only regular
files travel; unpacking refuses links, devices and paths that leave the target (tarfile's `data` filter).
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tlcore.runs.paths import run_dir


def pack_path(path: Path) -> tuple[str, bytes]:
    """("file", its bytes) or ("folder", a tar of every regular file under it; links are skipped, as the
    dataset loader skips them)."""
    if path.is_file():
        return "file", path.read_bytes()
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return "folder", _tar((p.relative_to(path).as_posix(), p) for p in files)


def pack_dir(folder: Path) -> bytes:
    """A run folder's files (not its subfolders: a run folder has none) as a tar."""
    return _tar((p.name, p) for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink())


def _tar(members: Iterable[tuple[str, Path]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = path.stat().st_size, 0o644
            with open(path, "rb") as f:
                tar.addfile(info, f)
    return buf.getvalue()


def unpack(payload: bytes, dest: Path) -> None:
    """Unpack a tar into the new folder `dest`: regular files and folders only, all inside `dest`."""
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
        members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
        tar.extractall(dest, members=members, filter="data")


def install_artifacts(run_id: str, payload: bytes) -> Path:
    """The server's run folder from a node's tar of it, complete or not at all: the same contract as
    `tlcore.runs.artifacts.write_artifacts` (a temporary `.<run id>.*` folder beside it, fsync, one rename), so
    `discard_artifacts` cleans up after a failure the same way. ValueError for anything but plain files."""
    final = run_dir(run_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=final.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
            members = tar.getmembers()
            if not members or any(not m.isfile() or "/" in m.name or m.name.startswith(".") for m in members):
                raise ValueError("the run's files came back damaged (an unexpected entry in them)")
            tar.extractall(tmp, members=members, filter="data")
        for path in tmp.iterdir():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
