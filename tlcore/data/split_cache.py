"""Splits kept on disk, keyed by everything that decides them: the data's fingerprint and given folders, the seed
and fractions, the splitting code and scikit-learn's version. A command that checks the same data again (the
warm `train`) then reads its split instead of importing scikit-learn (~2 s on two cores) to compute it again.
They are cache files like decoded images and features (`tlcore.core.diskcache`): written atomically, and evicted
least recently used first when the cache is over its budget (`max_cache_mb`)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from tlcore.core import diskcache

SPLITTING_CODE = Path(__file__).with_name("split.py")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def split_key(fingerprint: str, given_split: Any, seed: int, fractions: tuple[float, float]) -> str:
    try:
        code = hashlib.sha256(SPLITTING_CODE.read_bytes()).hexdigest()
    except OSError:  # installed without its source: key on the package version instead
        code = _version("transfer-lab")
    parts = [fingerprint, repr(given_split), str(seed), repr(fractions), _version("scikit-learn"), _version("numpy"),
             code]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _path(key: str) -> Path:
    return diskcache.cache_root() / diskcache.SPLITS_FOLDER / f"{key}.json"


def load(key: str) -> dict | None:
    """The stored split (`Split.to_dict()`), or None when there is none or it cannot be read."""
    path = _path(key)
    try:
        split = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    diskcache.touch(path)
    return split


def save(key: str, split: dict) -> None:
    """Store a split; a data directory that cannot be written only loses the shortcut."""
    try:
        text = json.dumps(split)
        diskcache.store(_path(key), lambda tmp: Path(tmp).write_text(text))
    except (OSError, TypeError, ValueError):  # ValueError: also a malformed TLAB_MAX_CACHE_MB
        return
