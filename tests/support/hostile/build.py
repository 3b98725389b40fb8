"""Building blocks of the hostile-input corpus: the Case record and tiny real files made from code.

Nothing here is a stored binary: zips are written with `zipfile` (crafted names, symlink entries, huge
ratios, patched headers), images with PIL or by hand (a PNG or BMP header that claims billions of pixels),
tables as text in the encodings people really send.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

ZipEntry = tuple["str | zipfile.ZipInfo", bytes]


@dataclass(frozen=True)
class Upload:
    """What the Data page receives: one file (zip or table) or a folder's files with relative names."""

    kind: Literal["file", "folder"]
    files: tuple[tuple[str, bytes], ...]


@dataclass(frozen=True)
class Built:
    cli_path: Path   # given to `python -m tlcore check --data`
    upload: Upload   # given to the Data page's uploader


@dataclass(frozen=True)
class Case:
    """One hostile input and what a demanding user expects from it.

    `accept=False`: refused with one plain message containing every word of `words` (lower case).
    `accept=True`: loads, and some warning of the data report contains every word of `words` (if any);
    `classes`, when given, are exactly the classes that must come out.
    """

    id: str
    build: Callable[[Path, Path], Built]  # (empty case folder, sentinel folder outside the data dir)
    accept: bool
    words: tuple[str, ...] = ()
    classes: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    # What the web server says instead, when only decoding the pixels finds the problem: the Data page reads
    # image headers only (the worker that trains decodes, and skips what does not decode). (accept, words)
    on_server: tuple[bool, tuple[str, ...]] | None = None

    def as_served(self) -> Case:
        """This case as the Data page must handle it."""
        if self.on_server is None:
            return self
        accept, words = self.on_server
        return replace(self, accept=accept, words=tuple(w.lower() for w in words), on_server=None)


def reject(id: str, build: Callable[[Path, Path], Built], *words: str, **env: str) -> Case:
    return Case(id, build, False, tuple(w.lower() for w in words), env=env)


def accept(id: str, build: Callable[[Path, Path], Built], *words: str, classes: tuple[str, ...] | None = None,
           **env: str) -> Case:
    return Case(id, build, True, tuple(w.lower() for w in words), classes=classes, env=env)


# -- images -------------------------------------------------------------------------------------------------
def png(seed: int, size: tuple[int, int] = (8, 8), fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """A tiny image with random pixels, so files with different seeds never count as duplicates."""
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    (im if mode == "RGB" else im.convert(mode)).save(buf, fmt)
    return buf.getvalue()


def good_images(classes: Mapping[str, int], start: int = 0) -> dict[str, bytes]:
    """`{"cats/0.png": ..., ...}`: `n` distinct readable images per class."""
    out, seed = {}, start
    for cls, n in classes.items():
        for i in range(n):
            out[f"{cls}/{i}.png"] = png(seed)
            seed += 1
    return out


GOOD = {"cats": 3, "dogs": 3}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG that claims width×height pixels but holds a few bytes: decoding it would need gigabytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    idat = zlib.compress(b"\0" * 4096)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_text_bomb(megabytes: int) -> bytes:
    """A valid 8×8 PNG with a compressed text chunk that inflates to `megabytes` MB."""
    raw = png(99)
    text = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * (megabytes * 1024 * 1024), 9))
    return raw[:33] + text + raw[33:]  # after the signature (8) and IHDR (25)


def bmp_header_bomb(width: int, height: int) -> bytes:
    """A 24-bit BMP header claiming width×height pixels with no pixel data at all."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


# -- zips ---------------------------------------------------------------------------------------------------
def zip_bytes(entries: Mapping[str, bytes] | list[ZipEntry], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    items = entries.items() if isinstance(entries, Mapping) else entries
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in items:
            zf.writestr(name, data)
    return buf.getvalue()


def symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix, so the mode bits are honoured by unzip tools
    info.external_attr = 0o120777 << 16
    return info


def patch_headers(data: bytes, *, flags: int = 0, method: int | None = None, size: int | None = None,
                  compressed_size: int | None = None) -> bytes:
    """Rewrite every local and central header: OR in `flags`, set the compression method or the claimed sizes."""
    out = bytearray(data)
    for sig, flag_at, method_at, size_at in ((b"PK\x03\x04", 6, 8, 22), (b"PK\x01\x02", 8, 10, 24)):
        at = out.find(sig)
        while at != -1:
            out[at + flag_at:at + flag_at + 2] = struct.pack("<H", struct.unpack_from("<H", out, at + flag_at)[0] | flags)
            if method is not None:
                out[at + method_at:at + method_at + 2] = struct.pack("<H", method)
            if size is not None:
                out[at + size_at:at + size_at + 4] = struct.pack("<I", size)
            if compressed_size is not None:  # stored just before the uncompressed size
                out[at + size_at - 4:at + size_at] = struct.pack("<I", compressed_size)
            at = out.find(sig, at + 4)
    return bytes(out)


# -- how a case reaches the CLI and the page ----------------------------------------------------------------
def as_file(name: str, data: str | bytes | Callable[[Path], bytes]) -> Callable[[Path, Path], Built]:
    """One uploaded file (zip, table, anything): the CLI reads it from disk, the page gets the same bytes."""
    def build(folder: Path, sentinel: Path) -> Built:
        payload = data(sentinel) if callable(data) else data
        payload = payload.encode() if isinstance(payload, str) else payload
        path = folder / name
        path.write_bytes(payload)
        return Built(path, Upload("file", ((name, payload),)))
    return build


def as_zip(name: str, entries: Callable[[Path], Mapping[str, bytes] | list[ZipEntry]] | Mapping[str, bytes],
           compression: int = zipfile.ZIP_DEFLATED, patch: Callable[[bytes], bytes] | None = None
           ) -> Callable[[Path, Path], Built]:
    def data(sentinel: Path) -> bytes:
        raw = zip_bytes(entries(sentinel) if callable(entries) else entries, compression)
        return patch(raw) if patch else raw
    return as_file(name, data)


def as_folder(files: Mapping[str, bytes], links: Mapping[str, str] = {}) -> Callable[[Path, Path], Built]:
    """A folder on disk for the CLI; for the page, the files a browser's folder picker would send.

    `links` maps a relative name to a path inside the sentinel folder: on disk it is a symbolic link; a
    browser follows links, so the page receives the target's bytes under the link's name.
    """
    def build(folder: Path, sentinel: Path) -> Built:
        root = folder / "set"
        sent = [(f"set/{rel}", data) for rel, data in files.items()]
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        for rel, target in links.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).symlink_to(sentinel / target)
            if (sentinel / target).is_file():
                sent.append((f"set/{rel}", (sentinel / target).read_bytes()))
        return Built(root, Upload("folder", tuple(sent)))
    return build


def as_folder_upload(files: Callable[[Path], list[tuple[str, bytes]]]) -> Callable[[Path, Path], Built]:
    """Names no file system can hold (`../x`, `/abs`): the page gets them as a folder upload from a hostile
    client, the CLI gets a zip with the same names (the only way such names reach it)."""
    def build(folder: Path, sentinel: Path) -> Built:
        listed = files(sentinel)
        path = folder / "names.zip"
        path.write_bytes(zip_bytes(listed))
        return Built(path, Upload("folder", tuple(listed)))
    return build


def escape_to(sentinel: Path, name: str) -> str:
    """A relative entry name that climbs out of any extraction folder and lands in the sentinel folder."""
    return "../" * 40 + str(sentinel / name).lstrip("/")
