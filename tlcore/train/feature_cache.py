"""Where a dataset's frozen features are cached, and reading or filling that cache, without torch: the PyTorch
runs (`tlcore.train.features`), the model ranking and a probe on an exported body (`tlcore.train.frozen_run`)
share one file per (dataset, model, preprocessing).

The key does not name the backend (ONNX Runtime or eager PyTorch, see `frozen_onnx`): both compute the same
function (a fresh export is checked to agree within 1e-3 relative; measured 2e-6 on 32 tux-photos at 224 px),
so features written by one are valid for the other, and switching backends (`TLAB_FEATURE_BACKEND`, a GPU)
costs no recompute.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tlcore.core import diskcache
from tlcore.train.defaults import inference_bf16

if TYPE_CHECKING:
    from tlcore.train.prepare import Prepared

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the feature computation changes, so stale files are never reused


def feature_cache_path(fingerprint: str, model_id: str, preprocessing: str, cache_dir: Path | None = None) -> Path:
    """`preprocessing` must name everything that changes the numbers (size, length, crop, precision)."""
    key = hashlib.sha256(f"v{CACHE_VERSION}|{fingerprint}|{model_id}|{preprocessing}".encode()).hexdigest()[:20]
    return (cache_dir or diskcache.cache_root()) / "features" / f"{key}.safetensors"


def feature_cache_file(prep: Prepared) -> Path:
    """Where the frozen features of a prepared run's whole dataset are cached: the probe, nearest neighbours
    and the model ranking (`tlcore.experiments.ranking`) share this file."""
    r = prep.resolved
    preprocessing = (f"size={r.image_size}|len={r.max_length}|crop={prep.spec.crop_pct}|"
                     f"{prep.spec.interpolation}|bf16={inference_bf16(r)}")
    return feature_cache_path(prep.dataset.fingerprint, prep.spec.id, preprocessing)


def cached_feature_array(path: Path, n: int, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Load `n` rows of features [n, D] from `path`, or compute and store them atomically.

    A damaged or mismatched cache file is recomputed, and a cache that cannot be written (full disk)
    only costs speed next time: the run goes on with the features in memory.
    """
    from safetensors.numpy import load_file, save_file

    if path.exists():
        try:
            features = load_file(str(path))["features"]
            if features.shape[0] == n:
                diskcache.touch(path)
                return features if features.flags.writeable else features.copy()
        except Exception as exc:  # any unreadable cache is just a miss
            log.warning("ignoring unreadable feature cache %s: %s", path, exc)
    features = np.ascontiguousarray(compute())
    diskcache.store(path, lambda tmp: save_file({"features": features}, tmp))
    return features
