"""Inputs that cost the server far more than their size, and datasets no split can serve: each must be refused
(or the offending row left out) with a plain message, quickly and in bounded memory."""

from __future__ import annotations

import json

from .build import accept, as_file, as_zip, good_images, patch_headers, png, png_header_bomb, reject, zip_bytes

WIDE_JSONL_BYTES = 2_000_000


def wide_jsonl(size: int = WIDE_JSONL_BYTES) -> bytes:
    """One new key on every line: read naively, a table of lines × keys cells (gigabytes from 2 MB)."""
    lines, total, i = [], 0, 0
    while total < size:
        line = json.dumps({"text": f"review number {i}", "label": "pos" if i % 2 else "neg", f"extra{i}": i})
        lines.append(line)
        total, i = total + len(line) + 1, i + 1
    return "\n".join(lines).encode()


def deep_jsonl(depth: int = 900) -> bytes:
    """Good rows, and one whose value nests just under what the JSON parser accepts (writing it back out as text
    would recurse past Python's limit)."""
    good = [json.dumps({"text": f"a line of text {i}", "label": "pos" if i % 2 else "neg"}) for i in range(8)]
    deep = '{"text": "deep", "label": "pos", "value": ' + "[" * depth + "]" * depth + "}"
    return "\n".join(good[:4] + [deep] + good[4:]).encode()


def many_megapixels(count: int) -> dict[str, bytes]:
    """`count` PNGs of 36 megapixels each (under the per-image limit), a few dozen bytes each."""
    return {f"{'cats' if i % 2 else 'dogs'}/{i}.png": png_header_bomb(6000, 6000) for i in range(count)}


def identical_items() -> dict[str, bytes]:
    """Two classes made of byte-identical images: every copy lands in one part of any split."""
    same = png(7)
    return {f"{cls}/{i}.png": same for cls in ("cats", "dogs") for i in range(4)}


def huge_line_jsonl(elements: int = 300_000) -> bytes:
    """Good rows, and one line holding a big array in one cell (walking it cost seconds per megabyte)."""
    good = [json.dumps({"text": f"a line of text {i}", "label": "pos" if i % 2 else "neg"}) for i in range(8)]
    huge = json.dumps({"text": "huge", "label": "pos", "value": list(range(elements))})
    return "\n".join(good[:4] + [huge] + good[4:]).encode()


def surrogate_jsonl() -> bytes:
    """A lone UTF-16 surrogate escape: valid JSON, but no text can hold it (writing it out used to crash)."""
    good = [json.dumps({"text": f"a line of text {i}", "label": "pos" if i % 2 else "neg"}) for i in range(8)]
    return "\n".join(good + ['{"text": "bad \\ud800 text", "label": "neg"}']).encode()


def cr_csv(columns: int = 50, rows: int = 100) -> bytes:
    """Old-Mac line endings ("\\r" only): the cell count must be checked on them too, before parsing."""
    lines = [",".join(f"c{j}" for j in range(columns))] + [",".join("x" * columns) for _ in range(rows)]
    return "\r".join(lines).encode()


def deep_entry_zip(depth: int = 2_000) -> dict[str, bytes]:
    """One entry nested thousands of folders deep (the file/folder clash check was quadratic in the depth)."""
    return {**good_images({"cats": 4, "dogs": 4}), "/".join(["d"] * depth) + "/x.png": png(1)}


def many_folder_entries(count: int = 1_100) -> list:
    """Folder entries cost work too, though they are not files."""
    return [*good_images({"cats": 4, "dogs": 4}).items(), *((f"cats/empty{i}/", b"") for i in range(count))]


def icons_named_png() -> dict[str, bytes]:
    """ICO files named .png: Pillow decodes an icon while opening it, so "headers only" must refuse them."""
    return {**good_images({"cats": 4, "dogs": 4}), "cats/icon.png": png(3, (64, 64), fmt="ICO")}


def _lying_sizes() -> bytes:
    """A zip whose headers claim fewer compressed bytes than the entries hold: the stream ends early."""
    return patch_headers(zip_bytes(good_images({"cats": 3, "dogs": 3})), compressed_size=10)


CASES = [
    reject("jsonl-one-new-key-per-line-2mb", as_file("wide.jsonl", wide_jsonl()), "different keys"),
    accept("jsonl-nested-just-under-the-parser-limit", as_file("deep.jsonl", deep_jsonl()), "nested deeper",
           classes=("neg", "pos")),
    reject("zip-lying-compressed-sizes", as_file("lies.zip", _lying_sizes()), "lies.zip", "not a readable zip"),
    reject("zip-many-megapixel-pngs", as_zip("pixels.zip", many_megapixels(12)), "megapixels", "in total",
           TLAB_MAX_DATASET_PIXELS="300000000"),
    accept("jsonl-one-line-with-a-huge-array", as_file("huge.jsonl", huge_line_jsonl()), "longer than",
           classes=("neg", "pos")),
    accept("jsonl-lone-surrogate", as_file("surrogate.jsonl", surrogate_jsonl()), "invalid character",
           classes=("neg", "pos")),
    reject("csv-old-mac-line-endings-too-many-cells", as_file("cr.csv", cr_csv()), "cells",
           TLAB_MAX_TABLE_CELLS="1000"),
    reject("zip-entry-nested-thousands-deep", as_zip("deep.zip", deep_entry_zip()), "folders deep"),
    reject("zip-many-folder-entries", as_zip("folders.zip", many_folder_entries()), "entries",
           TLAB_MAX_FILES="50"),
    accept("zip-icons-named-png", as_zip("icons.zip", icons_named_png()), "icon.png", "not a readable image",
           classes=("cats", "dogs")),
    reject("zip-identical-items-in-two-classes", as_zip("same.zip", identical_items()),
           "cannot be used for a comparison"),
]
