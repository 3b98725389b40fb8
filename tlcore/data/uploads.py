"""Store files that people upload through the UI, so `load_source` can read them from disk.

Uploads land under `<data dir>/uploads/<workspace>/<content hash>/` (see `tlcore.experiments.workspaces`: a workspace
reads only its own uploads), so the same bytes always map to the same path (re-uploading is free and the
path is a stable dataset id for the URL and the run store). Writes go to a
temporary name first and are renamed into place, so a half-written upload is never visible.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath

from tlcore.core import settings
from tlcore.core.errors import DataError
from tlcore.core.settings import Limits

_UNSAFE = re.compile(r"[^\w.()+=, -]+")  # \w is Unicode-aware: 'café' and '猫' stay distinct class names
MAX_NAME_BYTES = 200  # below the 255-byte limit of file systems, with room for suffixes
_DRIVE = re.compile(r"^[A-Za-z]:")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"


_WORKSPACE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def is_workspace_id(value: str | None) -> bool:
    """True for something shaped like a workspace id (it also becomes a folder name, so nothing else passes)."""
    return bool(value) and _WORKSPACE_ID.fullmatch(value) is not None


def uploads_dir(workspace: str = "") -> Path:
    """Where a workspace's uploads are stored; the shared root for the command line's empty workspace."""
    root = settings.data_dir() / "uploads"
    if not workspace:
        return root
    if not is_workspace_id(workspace):
        raise ValueError(f"not a workspace id: {workspace!r}")
    return root / workspace


def sanitize_filename(name: str, default: str = "upload") -> str:
    """A safe single path component: no folders, no control or shell characters, no leading dots."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])  # macOS sends NFD
    base = _UNSAFE.sub("_", base).strip(" .")
    return base.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore") or default


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_upload(filename: str, data: bytes, limits: Limits | None = None, *, workspace: str = "") -> Path:
    """Store one uploaded file (zip or table) and return its path; the same bytes give the same path."""
    limits = limits or Limits.from_env()
    if len(data) > limits.max_upload_bytes:
        raise DataError(f"{filename} is {_mb(len(data))}; the upload limit is {_mb(limits.max_upload_bytes)}. "
                        "Upload a smaller sample of the data.")
    if not data:
        raise DataError(f"{filename} is empty; upload the file again.")
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = uploads_dir(workspace) / digest / sanitize_filename(filename)
    if not (target.is_file() and target.stat().st_size == len(data)):
        _atomic_write(target, data)
    return target


def _relative_parts(name: str) -> list[str]:
    """The components of an uploaded relative path, or DataError if it could leave the upload folder."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or _DRIVE.match(clean):
        raise DataError(f"The upload contains an absolute path ({name!r}); upload the files of a folder only.")
    parts = [p for p in PurePosixPath(clean).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise DataError(f"The upload contains a path that points outside its folder ({name!r}); this is refused "
                        "for safety. Upload a plain folder.")
    if not parts:
        raise DataError(f"The upload contains a file without a name ({name!r}).")
    return [sanitize_filename(p, default="_") for p in parts]


def save_folder_upload(files: list[tuple[str, bytes]], limits: Limits | None = None, *,
                       workspace: str = "") -> Path:
    """Rebuild an uploaded folder (relative names such as `cats/1.jpg`) and return its root folder."""
    planned = _plan_folder(files, limits or Limits.from_env())
    h = hashlib.sha256()
    for rel in sorted(planned):
        h.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(planned[rel]).digest())
    target = uploads_dir(workspace) / h.hexdigest()[:16]
    if not target.is_dir():
        _write_tree(target, planned)
    return target


def _plan_folder(files: list[tuple[str, bytes]], limits: Limits) -> dict[str, bytes]:
    if not files:
        raise DataError("The folder upload is empty; choose a folder that holds one sub-folder per class.")
    if len(files) > limits.max_files:
        raise DataError(f"The folder holds {len(files):,} files; the limit is {limits.max_files:,}. "
                        "Upload a smaller sample.")
    total = sum(len(data) for _, data in files)
    if total > limits.max_upload_bytes:
        raise DataError(f"The folder holds {_mb(total)}; the upload limit is {_mb(limits.max_upload_bytes)}. "
                        "Upload a smaller sample.")
    planned: dict[str, bytes] = {}
    for name, data in files:
        rel = "/".join(_relative_parts(name))
        if rel in planned and planned[rel] != data:
            raise DataError(f"The upload contains two different files named {rel!r}; rename one of them.")
        planned[rel] = data
    return planned


def _write_tree(target: Path, planned: dict[str, bytes]) -> None:
    """Write into a temporary folder beside `target`, then rename it into place (all or nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".part-", dir=target.parent))
    try:
        for rel, data in planned.items():
            path = tmp.joinpath(*rel.split("/"))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as e:
                raise DataError(f"The upload uses {rel!r} both as a file and as a folder; rename one.") from e
        try:
            os.rename(tmp, target)
        except OSError:  # another session stored the same folder first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
