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
    reject("zip-identical-items-in-two-classes", as_zip("same.zip", identical_items()),
           "cannot be used for a comparison"),
]
