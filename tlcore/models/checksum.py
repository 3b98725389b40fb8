"""sha256 checks of weight files: every file we load is compared with a pinned digest first."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from tlcore.core.errors import ModelError


def sha256_of(path: Path) -> str:
    """The file's sha256 (hex), hashed once per process while its size and mtime stay the same."""
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, fix: str = "Reinstall the package that provides it.") -> None:
    """Raise ModelError unless the file's sha256 is `expected` (a full digest or a prefix of one).

    `fix` is the sentence that tells people what to do about a file that fails the check.
    """
    actual = sha256_of(path)
    if not actual.startswith(expected.lower()):
        raise ModelError(f"The weight file {path} is damaged or not the expected one (sha256 {actual[:12]}…, "
                         f"expected {expected[:12]}…). {fix}")
