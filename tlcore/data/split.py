"""Reproducible stratified train/val/test splits and nested k-per-class training subsets.

One `Split` is shared by every run of a comparison so all strategies see the same examples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from tlcore.core.errors import ConfigError, DataError
from tlcore.data import split_cache
from tlcore.data.dataset import Dataset, class_errors


@dataclass(frozen=True, eq=False)
class Split:
    """Sorted int64 index arrays into the dataset; `id` hashes data fingerprint, seed, fractions, indices."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int
    id: str

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Split) and self.id == other.id and self.seed == other.seed
                and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in ("train", "val", "test")))

    def __hash__(self) -> int:
        return hash(self.id)

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def to_dict(self) -> dict:
        return {"train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist(),
                "seed": self.seed, "id": self.id}

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(*(np.asarray(d[k], dtype=np.int64) for k in ("train", "val", "test")), seed=int(d["seed"]),
                   id=str(d["id"]))


def _split_id(fingerprint: str, seed: int, fractions: tuple[float, float], parts: list[np.ndarray]) -> str:
    h = hashlib.sha256(f"{fingerprint}|{seed}|{fractions[0]!r}|{fractions[1]!r}".encode())
    for p in parts:
        h.update(b"|")
        h.update(np.asarray(p, dtype=np.int64).tobytes())
    return h.hexdigest()[:12]


def _manual_take(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int, at_least_one: bool) -> np.ndarray:
    """Per-class take for classes too small for sklearn: never takes a class's last item."""
    rng = np.random.default_rng(seed)
    taken = []
    for c in np.unique(y):
        members = rng.permutation(idx[y == c])
        n = int(round(len(members) * fraction))
        if at_least_one and fraction > 0:
            n = max(n, 1)
        taken.append(members[: max(0, min(n, len(members) - 1))])
    return np.concatenate(taken) if taken else np.empty(0, dtype=np.int64)


def _take(idx: np.ndarray, labels: np.ndarray, fraction: float, seed: int,
          at_least_one: bool) -> tuple[np.ndarray, np.ndarray]:
    """Split `idx` into (rest, taken) with about `fraction` taken per class; every class keeps ≥1 in rest."""
    idx = np.asarray(idx, dtype=np.int64)
    if fraction <= 0 or len(idx) == 0:
        return idx, np.empty(0, dtype=np.int64)
    from sklearn.model_selection import train_test_split  # imported lazily: ~1.5 s, not needed to list data

    y = labels[idx]
    try:
        rest, taken = train_test_split(idx, test_size=fraction, stratify=y, random_state=seed)
        kept_classes = set(np.unique(labels[rest]).tolist())
        if kept_classes != set(np.unique(y).tolist()):
            raise ValueError("a class lost all its remaining examples")
        if at_least_one and set(np.unique(labels[taken]).tolist()) != {c for c in kept_classes if (y == c).sum() > 1}:
            raise ValueError("a class has no example in the taken part")
    except ValueError:  # too few items for stratification: allocate per class instead
        taken = _manual_take(idx, y, fraction, seed, at_least_one)
        rest = np.setdiff1d(idx, taken)
    return np.asarray(rest, dtype=np.int64), np.asarray(taken, dtype=np.int64)


def _check(ds: Dataset, val_fraction: float, test_fraction: float) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ConfigError(f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must each be in "
                          "[0, 1) and add up to less than 1")
    errors = class_errors(ds.class_counts())
    if errors:
        raise DataError("; ".join(errors) + ". Add examples or remove the class.")


def make_split(ds: Dataset, *, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.2) -> Split:
    """Stratified test first, then val from the rest (val_fraction is of the whole dataset).

    Honours `ds.given_split` (train/val/test folders); a missing val or test part is carved from train.
    """
    _check(ds, val_fraction, test_fraction)
    key = split_cache.split_key(ds.fingerprint, ds.given_split, seed, (val_fraction, test_fraction))
    if (stored := split_cache.load(key)) is not None:
        try:
            return Split.from_dict(stored)
        except (KeyError, TypeError, ValueError):  # a damaged file: split again
            pass
    split = _compute(ds, seed, val_fraction, test_fraction)
    split_cache.save(key, split.to_dict())
    return split


def _compute(ds: Dataset, seed: int, val_fraction: float, test_fraction: float) -> Split:
    labels = ds.labels
    if ds.given_split is not None:
        train, val, test = _given(ds, seed, val_fraction, test_fraction)
    else:
        rest, test = _take(np.arange(len(ds)), labels, test_fraction, seed, at_least_one=True)
        train, val = _take(rest, labels, val_fraction / (1 - test_fraction), seed + 1, at_least_one=False)
        train, val, test = keep_duplicates_together([train, val, test], ds.item_hashes)
    parts = [np.sort(np.asarray(p, dtype=np.int64)) for p in (train, val, test)]
    return Split(*parts, seed=seed, id=_split_id(ds.fingerprint, seed, (val_fraction, test_fraction), parts))


def keep_duplicates_together(parts: list[np.ndarray], item_hashes: list[str]) -> list[np.ndarray]:
    """Move every copy of an exact duplicate into the part that holds its first copy (lowest index).

    Without this, a duplicated item can sit in train and test at once and inflate test accuracy
    (bbc-news has 98 such pairs). Given splits (train/test folders) are left as the user made them.
    """
    owner = np.empty(sum(len(p) for p in parts), dtype=np.int64)
    for part_no, part in enumerate(parts):
        owner[part] = part_no
    first_part: dict[str, int] = {}
    for index, item_hash in enumerate(item_hashes):
        part_no = first_part.setdefault(item_hash, int(owner[index]))
        owner[index] = part_no
    return [np.flatnonzero(owner == k) for k in range(len(parts))]


def _given(ds: Dataset, seed: int, val_fraction: float, test_fraction: float) -> tuple[np.ndarray, ...]:
    where = np.asarray(ds.given_split, dtype=object)
    train = np.flatnonzero(where == "train")
    val = np.flatnonzero(where == "val")
    test = np.flatnonzero(where == "test")
    missing = [ds.classes[c] for c in range(ds.num_classes) if not (ds.labels[train] == c).any()]
    if missing:
        raise DataError(f"the train folder has no examples of {', '.join(repr(m) for m in missing)}; every class "
                        "needs training examples (add them, or remove the train/val/test folders to split "
                        "automatically)")
    if len(test) == 0:
        share = len(train) / len(ds)
        train, test = _take(train, ds.labels, min(0.5, test_fraction / max(share, 1e-9)), seed, True)
    if len(val) == 0 and val_fraction > 0:
        share = len(train) / len(ds)
        train, val = _take(train, ds.labels, min(0.5, val_fraction / max(share, 1e-9)), seed + 1, False)
    return train, val, test


def subset_per_class(labels: np.ndarray, train_idx: np.ndarray, k: int | None, seed: int) -> np.ndarray:
    """The first min(k, n_c) of each class's train indices in a per-seed order fixed independently of k.

    Because the order does not depend on k, the subset for k is contained in the subset for any larger k.
    """
    train_idx = np.sort(np.asarray(train_idx, dtype=np.int64))
    if k is None:
        return train_idx
    if k < 1:
        raise ConfigError(f"examples per class must be at least 1, got {k}")
    labels = np.asarray(labels)
    chosen = []
    for c in np.unique(labels[train_idx]):
        members = train_idx[labels[train_idx] == c]
        rng = np.random.default_rng([seed, int(c)])
        chosen.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(chosen)) if chosen else train_idx[:0]
