"""The in-memory description of a labelled dataset, shared by every source (upload, folder, CSV, built-in)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import numpy as np

Modality = Literal["image", "text"]
# An image is either a file on disk or a uint8 array (H×W grey or H×W×3 RGB) for array-backed built-ins.
ImageRef = Union[Path, np.ndarray]
SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class SkippedItem:
    """An input that was left out, with the reason in plain words (e.g. "not a readable image")."""

    name: str
    reason: str


@dataclass
class Dataset:
    """Items with integer labels. `items[i]` is an ImageRef for images and a str for text.

    `fingerprint` identifies the content (items + labels + class names), so caches and splits keyed by it
    are valid exactly as long as the data is the same.
    """

    name: str
    modality: Modality
    items: list
    labels: np.ndarray
    classes: list[str]
    item_names: list[str]
    item_hashes: list[str]
    given_split: list[str] | None = None
    skipped: list[SkippedItem] = field(default_factory=list)
    fingerprint: str = ""

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.items)
        if not (len(self.labels) == len(self.item_names) == len(self.item_hashes) == n):
            raise ValueError("items, labels, item_names and item_hashes must have the same length")
        if self.given_split is not None and len(self.given_split) != n:
            raise ValueError("given_split must have one entry per item")
        if not self.fingerprint:
            self.fingerprint = compute_fingerprint(self.modality, self.classes, self.item_hashes, self.labels)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return {c: int(n) for c, n in zip(self.classes, counts)}


def content_hash(data: bytes) -> str:
    """Hash of one item's content (file bytes, array bytes or UTF-8 text)."""
    return hashlib.sha256(data).hexdigest()[:32]


def compute_fingerprint(modality: str, classes: list[str], item_hashes: list[str], labels: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(modality.encode())
    h.update("\x1f".join(classes).encode())
    for item_hash, label in zip(item_hashes, np.asarray(labels).tolist()):
        h.update(f"{item_hash}:{label}\n".encode())
    return h.hexdigest()[:16]
