"""Frozen-backbone features, computed once per (dataset, model, preprocessing) and cached on disk.

A linear probe then costs one forward pass over the data, however many epochs, seeds or strategies
reuse it: the cache is shared by every run that uses the same data and model.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tlcore.core import diskcache
from tlcore.train.inputs import Inputs

log = logging.getLogger(__name__)


CACHE_VERSION = 1  # bump when the feature computation changes, so stale files are never reused


def feature_cache_path(fingerprint: str, model_id: str, preprocessing: str, cache_dir: Path | None = None) -> Path:
    """`preprocessing` must name everything that changes the numbers (size, length, crop, precision)."""
    key = hashlib.sha256(f"v{CACHE_VERSION}|{fingerprint}|{model_id}|{preprocessing}".encode()).hexdigest()[:20]
    return (cache_dir or diskcache.cache_root()) / "features" / f"{key}.safetensors"


@torch.inference_mode()
def compute_features(body: torch.nn.Module, inputs: Inputs, n: int, batch_size: int, *, amp_bf16: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Features [n, D] of every item (no augmentation), in dataset order, on the CPU."""
    body.eval()
    out: torch.Tensor | None = None
    done = 0
    for batch_inputs, _, idx in inputs.batches(torch.arange(n), batch_size, train=False):
        with torch.autocast(device_type=batch_inputs[0].device.type, dtype=torch.bfloat16, enabled=amp_bf16):
            feats = body(*batch_inputs).float().cpu()
        if out is None:
            out = torch.empty(n, feats.shape[1])
        out[idx.cpu()] = feats
        done += len(idx)
        if progress:
            progress(done, n)
    return out if out is not None else torch.empty(0, 0)


def cached_features(path: Path, n: int, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Load `n` rows of features from `path`, or compute and store them atomically.

    A damaged or mismatched cache file is recomputed, and a cache that cannot be written (full disk)
    only costs speed next time: the run goes on with the features in memory.
    """
    if path.exists():
        try:
            features = load_file(path)["features"]
            if features.shape[0] == n:
                diskcache.touch(path)
                return features
        except Exception as exc:  # any unreadable cache is just a miss
            log.warning("ignoring unreadable feature cache %s: %s", path, exc)
    features = compute()
    diskcache.store(path, lambda tmp: save_file({"features": features.contiguous()}, tmp))
    return features
