"""Safe extraction of user-uploaded zip files.

Nothing in an upload is trusted: paths are checked before anything is written (zip slip, absolute paths,
drive letters, symlinks), header sizes are only used for an early refusal and the real byte counts are
enforced while streaming, and extraction goes to a temporary folder that is renamed into place only when
everything succeeded, so a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.dataset import SkippedItem
from tlcore.data.images import IMAGE_SUFFIXES, image_size

IGNORED_NAMES = {"__macosx", ".ds_store", "thumbs.db", "desktop.ini"}
NESTED_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")
MANIFEST = ".tlab_extract.json"
_CHUNK = 1024 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_BYTES = 255  # longest file name (one path component) Linux and macOS file systems accept
HEADER_BYTES = 32 * 1024  # enough for the header of nearly every image file
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def size_text(n: int) -> str:
    """Bytes in words people read: 512 KB, 3.2 MB, 1 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def is_ignored_name(part: str) -> bool:
    """Hidden files, macOS resource forks and OS thumbnails: never part of a dataset."""
    return part.startswith(".") or part.lower() in IGNORED_NAMES


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return bool(mode) and stat.S_ISLNK(mode)


def _entry_parts(info: zipfile.ZipInfo) -> list[str]:
    """The entry's path components, or DataError if the path could escape the extraction folder."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/"):
        raise DataError(f"The zip contains an entry with an absolute path ({info.filename!r}); "
                        "re-create the zip from the dataset folder so all paths are relative.")
    if _DRIVE.match(name):
        raise DataError(f"The zip contains an entry with a drive letter ({info.filename!r}); "
                        "re-create the zip from the dataset folder so all paths are relative.")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if ".." in parts:
        raise DataError(f"The zip contains an entry that points outside the archive ({info.filename!r}); "
                        "this is refused for safety. Re-create the zip from the dataset folder.")
    if len(parts) > MAX_DEPTH:
        raise DataError(f"The zip contains an entry nested more than {MAX_DEPTH} folders deep; a dataset needs one "
                        "folder per class. Re-create the zip from the dataset folder.")
    if _is_symlink(info):
        raise DataError(f"The zip contains a symbolic link ({info.filename!r}); links are refused for "
                        "safety. Re-create the zip with the real files instead of links.")
    return parts


def _check_sizes(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Early refusal from the (untrusted) header sizes; the streaming copy enforces the real sizes."""
    files = [i for i in infos if not i.is_dir()]
    if not files:
        raise DataError("The zip file is empty; add one folder per class with the images inside and try again.")
    for i in files:
        if i.flag_bits & 0x1:
            raise DataError(f"The zip is password-protected ({i.filename!r} is encrypted); zip the folders again "
                            "without a password.")
        if i.compress_type not in READABLE_METHODS:
            raise DataError(f"The zip uses a compression method we cannot read (method {i.compress_type} for "
                            f"{i.filename!r}); re-create it with standard (deflate) compression.")
    if len(files) > limits.max_files:
        raise DataError(f"The zip holds {len(files):,} files; the limit is {limits.max_files:,}. "
                        "Upload a smaller dataset or fewer files per class.")
    total = sum(i.file_size for i in files)
    if total > limits.max_uncompressed_bytes:
        raise DataError(f"The zip would unpack to {size_text(total)}; the limit is "
                        f"{size_text(limits.max_uncompressed_bytes)}. Upload a smaller dataset.")
    for i in files:
        if _too_compressed(i.file_size, i.compress_size, limits):
            raise DataError(_bomb_message(i.filename, limits))
    packed = sum(i.compress_size for i in files)
    if total > limits.ratio_check_min_bytes and total > limits.max_compression_ratio * max(packed, 1):
        raise DataError(_bomb_message(None, limits))


def _too_compressed(size: int, packed: int, limits: Limits) -> bool:
    return size > limits.ratio_check_min_bytes and size > limits.max_compression_ratio * max(packed, 1)


def _bomb_message(name: str | None, limits: Limits) -> str:
    what = f"the entry {name!r}" if name else "the zip"
    return (f"{what[0].upper() + what[1:]} is compressed more than {limits.max_compression_ratio}:1, which "
            "is how zip bombs look; it was refused. Re-create the zip with ordinary compression.")


class _Budget:
    """Running byte counter across all entries, so lying headers cannot exceed the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0

    def copy(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
        written = 0
        with zf.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                self.total += len(chunk)
                if self.total > self.limits.max_uncompressed_bytes:
                    raise DataError(f"The zip unpacks to more than {size_text(self.limits.max_uncompressed_bytes)} "
                                    "(the limit); upload a smaller dataset.")
                if _too_compressed(written, info.compress_size, self.limits):
                    raise DataError(_bomb_message(info.filename, self.limits))
                dst.write(chunk)


def _plan(zf: zipfile.ZipFile, limits: Limits) -> tuple[list[tuple[zipfile.ZipInfo, list[str]]], list[SkippedItem]]:
    """Decide, before writing anything, which entries are extracted and which are skipped (with reasons)."""
    infos = zf.infolist()
    if len(infos) > limits.max_files + MAX_FOLDER_ENTRIES:  # folder entries cost work too, and are not files
        raise DataError(f"The zip holds {len(infos):,} entries (files and folders); the limit is "
                        f"{limits.max_files:,} files. Upload a smaller dataset.")
    parsed = [(i, _entry_parts(i)) for i in infos]  # raises on unsafe paths before any size work
    _check_sizes(infos, limits)
    _check_file_folder_clash(parsed)
    keep: list[tuple[zipfile.ZipInfo, list[str]]] = []
    skipped: list[SkippedItem] = []
    for info, parts in parsed:
        if info.is_dir() or not parts or any(is_ignored_name(p) for p in parts):
            continue
        reason = _skip_reason(parts)
        if reason:
            skipped.append(SkippedItem(_CONTROL.sub("?", "/".join(p[:60] for p in parts)), reason))
        else:
            keep.append((info, parts))
    if not keep:
        nested = [s.name for s in skipped if s.reason == NESTED_REASON]
        if nested:
            raise DataError(f"The zip holds only archives inside it ({', '.join(nested[:3])}); these are not "
                            "unpacked. Unpack them and zip the class folders themselves.")
        raise DataError("The zip contains no usable files; add one folder per class with the images inside."
                        + (f" Skipped: {skipped[0].name}: {skipped[0].reason}." if skipped else ""))
    _check_pixels(zf, keep, limits)
    return keep, skipped


def _check_pixels(zf: zipfile.ZipFile, keep: list[tuple[zipfile.ZipInfo, list[str]]], limits: Limits) -> None:
    """Refuse, before anything is written, a zip whose images claim more pixels in total than
    `max_dataset_pixels`: only the first bytes of each image are inflated, enough for its header (a few
    thousand 40-megapixel PNGs fit in a 1 MB zip). Images whose header lies further in are counted after
    extraction instead (see `sources`)."""
    pixels = 0
    for info, parts in keep:
        if Path(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        with zf.open(info) as entry:
            size, _ = image_size(entry.read(HEADER_BYTES), limits)
        pixels += size[0] * size[1] if size else 0
        if pixels > limits.max_dataset_pixels:
            raise DataError(f"The images in this zip hold more than {limits.max_dataset_pixels / 1e6:,.0f} megapixels "
                            "in total (the limit); upload fewer or smaller images.")


MAX_DEPTH = 32  # folders inside folders; checking file/folder clashes costs the square of the depth
MAX_FOLDER_ENTRIES = 1_000

NESTED_REASON = "archive inside the archive (not unpacked; unpack it and zip the files)"


def _skip_reason(parts: list[str]) -> str | None:
    if any(_CONTROL.search(p) for p in parts):
        return "file name contains control characters"
    if any(len(p.encode("utf-8")) > MAX_NAME_BYTES for p in parts):
        return f"file name too long (more than {MAX_NAME_BYTES} bytes); shorten it"
    if parts[-1].lower().endswith(NESTED_ARCHIVE_SUFFIXES):
        return NESTED_REASON
    return None


def _check_file_folder_clash(parsed: list[tuple[zipfile.ZipInfo, list[str]]]) -> None:
    """`cats` as a file and `cats/1.png` in one zip cannot both be unpacked: say so before writing anything."""
    folders = {"/".join(parts[:k]) for info, parts in parsed for k in range(1, len(parts) + (info.is_dir()))}
    for info, parts in parsed:
        if not info.is_dir() and parts and "/".join(parts) in folders:
            raise DataError(f"The zip uses {'/'.join(parts)!r} both as a file and as a folder; rename one of "
                            "them and re-create the zip.")


def extract_zip(zip_path: Path, limits: Limits | None, work_dir: Path,
                name: str | None = None) -> tuple[Path, list[SkippedItem]]:
    """Extract `zip_path` safely into `work_dir`; returns (that folder, entries skipped with reasons).

    A folder that already holds the extraction is reused (the dataset library names it by the zip's content).
    `name` is what messages call the zip (its uploader's file name).
    """
    name = name or Path(zip_path).name
    limits = limits or Limits.from_env()
    zip_path = Path(zip_path)
    if zip_path.stat().st_size > limits.max_upload_bytes:
        raise DataError(f"{name} is {size_text(zip_path.stat().st_size)}; uploads are limited to "
                        f"{size_text(limits.max_upload_bytes)}. Upload a smaller dataset.")
    work_dir = Path(work_dir)
    if work_dir.is_dir() and any(work_dir.iterdir()):
        return work_dir, read_manifest(work_dir)
    work_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{work_dir.name}.", suffix=".partial", dir=work_dir.parent))
    try:
        skipped = _extract_into(zip_path, tmp, limits, name)
        (tmp / MANIFEST).write_text(json.dumps([[s.name, s.reason] for s in skipped]), encoding="utf-8")
        if work_dir.exists():  # an empty folder given by the caller
            work_dir.rmdir()
        tmp.rename(work_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return work_dir, skipped


def _extract_into(zip_path: Path, dest: Path, limits: Limits, name: str) -> list[SkippedItem]:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            keep, skipped = _plan(zf, limits)
            budget = _Budget(limits)
            root = dest.resolve()
            for info, parts in keep:
                target = dest.joinpath(*parts)
                if not target.resolve().is_relative_to(root):  # belt and braces after the parts check
                    raise DataError(f"The zip entry {info.filename!r} points outside the archive; refused.")
                if target.exists():  # two entries map to the same path (e.g. 'a\\b' and 'a/b')
                    skipped.append(SkippedItem("/".join(parts), "duplicate path in the zip"))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                budget.copy(zf, info, target)
    except zipfile.BadZipFile as e:
        raise DataError(f"{name} is not a readable zip file ({e}); re-create it and try again.") from e
    except (EOFError, zlib.error, struct.error, lzma.LZMAError, OverflowError, ValueError) as e:
        # a header that lies about sizes or offsets, or a damaged compressed stream
        raise DataError(f"{name} is damaged: its entries do not match what its headers say "
                        f"({type(e).__name__}); re-create the zip and try again.") from e
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as e:
        raise DataError(f"{name} uses a zip feature we cannot read ({e}); "
                        "re-create it with standard (deflate) compression and no password.") from e
    except OSError as e:  # the message, not str(e): that names our internal folders
        raise DataError(f"{name} could not be unpacked ({e.strerror or type(e).__name__}); "
                        "re-create it and try again.") from e
    return skipped


def read_manifest(folder: Path) -> list[SkippedItem]:
    """The entries an extraction skipped, with reasons (empty when the folder is not an extraction)."""
    try:
        return [SkippedItem(n, r) for n, r in json.loads((folder / MANIFEST).read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        return []
