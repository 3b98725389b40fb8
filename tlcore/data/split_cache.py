"""Splits kept on disk, keyed by everything that decides them: the data's fingerprint and given folders, the seed
and fractions, the splitting code and scikit-learn's version. A command that checks the same data again (the
warm `train`) then reads its split instead of importing scikit-learn (~2 s on two cores) to compute it again."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from tlcore.core import settings

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
    return settings.data_dir() / "cache" / "splits" / f"{key}.json"


def load(key: str) -> dict | None:
    """The stored split (`Split.to_dict()`), or None when there is none or it cannot be read."""
    try:
        return json.loads(_path(key).read_text())
    except (OSError, ValueError):
        return None


def save(key: str, split: dict) -> None:
    """Store a split atomically; a data directory that cannot be written only loses the shortcut."""
    path = _path(key)
    try:
        text = json.dumps(split)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as out:
            out.write(text)
        os.replace(out.name, path)
    except (OSError, TypeError, ValueError):
        return
