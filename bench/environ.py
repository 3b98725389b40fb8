"""Environment variables set for the length of a `with` block, as they were afterwards (unset ones unset again):
the bench switches the engine's settings (`TLAB_DATA_DIR`, `TLAB_CPU_BF16`, `TLAB_FEATURE_BACKEND` …) per side."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def environ(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
