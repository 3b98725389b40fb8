"""Every image of a dataset decoded once, at the model's resolution, into one uint8 tensor cached on disk per
(data, preprocessing). Decoding happens in the worker that trains, never in the web server."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tlcore.core import diskcache
from tlcore.core.errors import DataError
from tlcore.core.settings import Limits
from tlcore.data.dataset import Dataset
from tlcore.data.images import INTERPOLATIONS, eval_transform, load_image

if TYPE_CHECKING:
    import torch


def _cache_path(ds: Dataset, size: int, crop_pct: float, interpolation: str, cache_dir: Path) -> Path:
    key = hashlib.sha256(f"{ds.fingerprint}|{size}|{crop_pct!r}|{interpolation}".encode()).hexdigest()[:24]
    return cache_dir / f"images-{ds.fingerprint}-{key}.safetensors"


def decode_images(ds: Dataset, size: int, **options: Any) -> torch.Tensor:
    """`decode_image_array` (same options) as a uint8 tensor [N, 3, size, size], sharing its memory."""
    import torch

    return torch.from_numpy(decode_image_array(ds, size, **options))


def decode_image_array(
    ds: Dataset,
    size: int,
    *,
    crop_pct: float = 0.875,
    interpolation: str = "bilinear",
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """All images of `ds` as a writable uint8 array [N, 3, size, size], cached on disk per (data, preprocessing).
    No torch here: a probe on an exported body needs none (`tlcore.train.frozen_run`)."""
    from safetensors.numpy import load_file, save_file

    if ds.modality != "image":
        raise DataError(f"{ds.name} is a {ds.modality} dataset; images cannot be decoded from it")
    if interpolation not in INTERPOLATIONS:
        raise DataError(f"unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    cache_dir = Path(cache_dir) if cache_dir is not None else diskcache.cache_root()
    path = _cache_path(ds, size, crop_pct, interpolation, cache_dir)
    if path.exists():
        try:
            cached = load_file(str(path))["images"]
            if cached.shape == (len(ds), 3, size, size):
                diskcache.touch(path)
                return cached if cached.flags.writeable else cached.copy()
        except Exception:  # a damaged cache file is rebuilt, never trusted
            pass
    out = _decode_all(ds, size, crop_pct, interpolation, progress)
    metadata = {"fingerprint": ds.fingerprint, "size": str(size), "crop_pct": repr(crop_pct),
                "interpolation": interpolation}
    diskcache.store(path, lambda tmp: save_file({"images": out}, tmp, metadata=metadata))
    return out


def _decode_all(ds: Dataset, size: int, crop_pct: float, interpolation: str,
                progress: Callable[[int, int], None] | None) -> np.ndarray:
    out = np.empty((len(ds), 3, size, size), dtype=np.uint8)
    limits = Limits.from_env()

    def one(i: int) -> int:
        im = eval_transform(load_image(ds.items[i], limits), size, crop_pct, interpolation)
        out[i] = np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
        return i

    n = len(ds)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done, _ in enumerate(pool.map(one, range(n)), start=1):
            if progress is not None and (done == n or done % 64 == 0):
                progress(done, n)
    return out
