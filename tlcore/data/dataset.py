"""The in-memory description of a labelled dataset, shared by every source (upload, folder, CSV, built-in)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

Modality = Literal["image", "text"]
# An image is either a file on disk or a uint8 array (H×W grey or H×W×3 RGB) for array-backed built-ins.
ImageRef = Path | np.ndarray
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
    notes: list[str] = field(default_factory=list)  # what loading changed (classes left out, texts cut…)

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


MIN_PER_CLASS = 2  # below this a class cannot appear in both train and test


def drop_tiny_classes(labels: list[str], names: list[str]) -> tuple[list[bool], list[SkippedItem], list[str]]:
    """Leave out classes with fewer than MIN_PER_CLASS examples: (keep mask, skipped items, notes).

    One stray example must not block a whole dataset; the person is told which class was left out and why.
    """
    counts: dict[str, int] = {}
    for lab in labels:
        counts[lab] = counts.get(lab, 0) + 1
    tiny = {c for c, n in counts.items() if n < MIN_PER_CLASS}
    if not tiny:
        return [True] * len(labels), [], []
    keep = [lab not in tiny for lab in labels]
    skipped = [SkippedItem(n, f"its class '{lab}' has only 1 example") for lab, n in zip(labels, names) if lab in tiny]
    shown = ", ".join(f"'{c}'" for c in sorted(tiny)[:5]) + (f" and {len(tiny) - 5:,} more" if len(tiny) > 5 else "")
    what = f"class {shown} has" if len(tiny) == 1 else f"{len(tiny):,} classes ({shown}) have"
    note = (f"{what} only 1 example and {'was' if len(tiny) == 1 else 'were'} left out: a class needs at least "
            f"{MIN_PER_CLASS} (one to learn from, one to test on); add examples to use "
            f"{'it' if len(tiny) == 1 else 'them'}")
    return keep, skipped, [note]


def class_errors(counts: dict[str, int]) -> list[str]:
    """The problems that make a dataset unusable for a train/test comparison (shared with make_split)."""
    errors = []
    if len(counts) < 2:
        errors.append(f"the dataset has {len(counts)} class(es); a classifier needs at least 2 classes")
    for name, n in counts.items():
        if n < MIN_PER_CLASS:
            errors.append(f"class '{name}' has only {n} example{'s' if n != 1 else ''}; "
                          f"every class needs at least {MIN_PER_CLASS}")
    return errors


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
