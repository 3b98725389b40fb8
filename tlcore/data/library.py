"""The dataset library: uploaded data stored by content, referred to by an opaque handle.

An upload is kept under `<data dir>/datasets/<id>/`, where `id` is the sha256 of its content (of the file, or
of a folder's manifest of relative names and file hashes): the same bytes always land in the same folder, so
nobody can pre-fill the folder someone else's upload will use, and re-uploading costs nothing. A zip is
unpacked there once, when it is stored, so what it really takes on disk is known (and charged) at upload.

Everywhere a person can see it (URLs, run configs, study specs, reports, page text), an upload is named by
its handle `upload:<id>` and the file name its uploader gave it; never by a server path, and never by
anything that names a workspace. Which workspace may use which handle is recorded in the run store.

    stored = store_file("photos.zip", data)       # StoredUpload(ref="upload:3f…", kind="zip", bytes=…)
    path = source_path(stored.ref)                # what load_source reads: a table file or a folder
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tlcore.core import settings
from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.archive import extract_zip, size_text

PREFIX = "upload:"
_ID = re.compile(r"[0-9a-f]{32}")
_UNSAFE = re.compile(r"[^\w.()+=, -]+")  # \w is Unicode-aware: 'café' and '猫' stay distinct class names
MAX_NAME_BYTES = 200  # below the 255-byte limit of file systems, with room for suffixes
_DRIVE = re.compile(r"^[A-Za-z]:")
TABLE_KINDS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class StoredUpload:
    id: str
    kind: str  # "zip", "csv", "tsv", "jsonl", anything else the loader will explain, or "folder"
    bytes: int  # on disk, unpacked files included

    @property
    def ref(self) -> str:
        return PREFIX + self.id


def root() -> Path:
    return settings.data_dir() / "datasets"


def is_upload_ref(ref: object) -> bool:
    return isinstance(ref, str) and ref.startswith(PREFIX) and _ID.fullmatch(ref[len(PREFIX):]) is not None


def upload_id(ref: str) -> str:
    if not is_upload_ref(ref):
        raise DataError("That is not a dataset handle of this server; upload the data again on the Data page.")
    return ref[len(PREFIX):]


def sanitize_filename(name: str, default: str = "upload") -> str:
    """A safe single path component: no folders, no control or shell characters, no leading dots."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])  # macOS sends NFD
    base = _UNSAFE.sub("_", base).strip(" .")
    return base.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore") or default


def display_name(name: str) -> str:
    """The uploader's file name as it is shown (never a path)."""
    return sanitize_filename(name, default="upload")


# -- storing ---------------------------------------------------------------------------------------------
def store_file(filename: str, data: bytes, limits: Limits | None = None) -> StoredUpload:
    """Keep one uploaded file (zip or table) by its content; a zip is unpacked now, within the limits."""
    limits = limits or Limits.from_env()
    _check_upload_size(filename, len(data), limits)
    if not data:
        raise DataError(f"{display_name(filename)} is empty; upload the file again.")
    upload = hashlib.sha256(data).hexdigest()[:32]
    suffix = Path(sanitize_filename(filename)).suffix.lower()
    folder = root() / upload
    source, new = folder / f"source{suffix}", not folder.exists()
    try:
        if not (source.is_file() and source.stat().st_size == len(data)):
            _atomic_write(source, data)
        if suffix == ".zip":
            extract_zip(source, limits, work_dir=folder / "files", name=display_name(filename))
    except BaseException:
        if new:  # a refused upload leaves nothing behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return StoredUpload(upload, suffix.lstrip(".") or "file", folder_bytes(folder))


def store_folder(files: list[tuple[str, bytes]], limits: Limits | None = None) -> StoredUpload:
    """Rebuild an uploaded folder (relative names such as `cats/1.jpg`) by its content."""
    limits = limits or Limits.from_env()
    planned = _plan_folder(files, limits)
    h = hashlib.sha256()
    for rel in sorted(planned):
        h.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(planned[rel]).digest())
    upload = h.hexdigest()[:32]
    target = root() / upload / "files"
    if not target.is_dir():
        _write_tree(target, planned)
    return StoredUpload(upload, "folder", folder_bytes(target.parent))


def source_path(ref: str) -> Path:
    """What `load_source` reads for a handle: the table file, or the folder of (unpacked) class folders."""
    folder = root() / upload_id(ref)
    if (folder / "files").is_dir():
        return folder / "files"
    sources = sorted(folder.glob("source*")) if folder.is_dir() else []
    if not sources:
        raise DataError("That upload is no longer on this server (deleted or never stored here); upload the "
                        "data again on the Data page.")
    return sources[0]


def extracted_folder(zip_path: Path, limits: Limits | None = None) -> Path:
    """A zip given by path (the command line): unpacked into the library by its content, like an upload."""
    data = Path(zip_path).read_bytes()
    stored = store_file(Path(zip_path).name, data, limits)
    return root() / stored.id / "files"


def folder_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:  # removed while we were counting
                pass
    return total


# -- helpers ----------------------------------------------------------------------------------------------
def _check_upload_size(name: str, size: int, limits: Limits) -> None:
    if size > limits.max_upload_bytes:
        raise DataError(f"{display_name(name)} is {size_text(size)}; the upload limit is "
                        f"{size_text(limits.max_upload_bytes)}. Upload a smaller sample of the data.")


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


def _plan_folder(files: list[tuple[str, bytes]], limits: Limits) -> dict[str, bytes]:
    if not files:
        raise DataError("The folder upload is empty; choose a folder that holds one sub-folder per class.")
    if len(files) > limits.max_files:
        raise DataError(f"The folder holds {len(files):,} files; the limit is {limits.max_files:,}. "
                        "Upload a smaller sample.")
    _check_upload_size("The folder", sum(len(data) for _, data in files), limits)
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
