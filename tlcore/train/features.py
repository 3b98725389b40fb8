"""Frozen-backbone features, computed once per (dataset, model, preprocessing) and cached on disk.

A linear probe then costs one forward pass over the data, however many epochs, seeds or strategies
reuse it: the cache is shared by every run that uses the same data and model.

The cache key does not name the backend (ONNX Runtime or eager PyTorch, see `frozen_onnx`): both compute the
same function (a fresh export is checked to agree within 1e-3 relative; measured 2e-6 on 32 tux-photos at
224 px), so features written by one are valid for the other, and switching backends (`TLAB_FEATURE_BACKEND`,
a GPU) costs no recompute.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from tlcore.core import diskcache
from tlcore.train.frozen_onnx import Forward, log_once, onnx_forward, torch_reason
from tlcore.train.inputs import ImageInputs, Inputs

log = logging.getLogger(__name__)


CACHE_VERSION = 1  # bump when the feature computation changes, so stale files are never reused


def feature_cache_path(fingerprint: str, model_id: str, preprocessing: str, cache_dir: Path | None = None) -> Path:
    """`preprocessing` must name everything that changes the numbers (size, length, crop, precision)."""
    key = hashlib.sha256(f"v{CACHE_VERSION}|{fingerprint}|{model_id}|{preprocessing}".encode()).hexdigest()[:20]
    return (cache_dir or diskcache.cache_root()) / "features" / f"{key}.safetensors"


@torch.inference_mode()
def compute_features(body: torch.nn.Module, inputs: Inputs, n: int, batch_size: int, *, amp_bf16: bool = False,
                     progress: Callable[[int, int], None] | None = None, model_id: str | None = None) -> torch.Tensor:
    """Features [n, D] of every item (no augmentation), in dataset order, on the CPU.

    Images on a CPU go through ONNX Runtime when it can run the body (see `frozen_onnx`), else the eager body;
    `model_id` names the body in the ONNX cache (default: its class name; the weights are in the key anyway).
    """
    body.eval()
    out: torch.Tensor | None = None
    forward: Forward | None = None
    done = 0
    for batch_inputs, _, idx in inputs.batches(torch.arange(n), batch_size, train=False):
        if forward is None:
            forward = frozen_forward(body, inputs, batch_inputs, amp_bf16, model_id)
        feats = forward(*batch_inputs)
        if out is None:
            out = torch.empty(n, feats.shape[1])
        out[idx.cpu()] = feats
        done += len(idx)
        if progress:
            progress(done, n)
    return out if out is not None else torch.empty(0, 0)


def frozen_forward(body: torch.nn.Module, inputs: Inputs, first: tuple[torch.Tensor, ...], amp_bf16: bool,
                   model_id: str | None) -> Forward:
    """ONNX Runtime for images on a CPU when it works, else the eager body (autocast when asked)."""
    name = model_id or type(body).__name__

    def eager(*x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x[0].device.type, dtype=torch.bfloat16, enabled=amp_bf16):
            return body(*x).float().cpu()

    if isinstance(inputs, ImageInputs):
        reason = torch_reason(first[0].device, amp_bf16)
        fast = onnx_forward(body, first[0], model_id) if reason is None else None
        if fast is not None:
            return eager_after_failure(fast, eager, name)
        if reason:
            log_once(f"frozen {name} runs on PyTorch: {reason}")
    return eager


def eager_after_failure(fast: Forward, eager: Forward, name: str) -> Forward:
    """`fast` until it fails on some batch (the runtime out of memory, an input it cannot take), then `eager`
    for that batch and the rest: the two agree within 1e-3, so a pass may mix them, and the run goes on."""
    current = [fast]

    def forward(*x: torch.Tensor) -> torch.Tensor:
        if current[0] is fast:
            try:
                return fast(*x)
            except Exception as exc:
                log_once(f"frozen {name} went back to PyTorch mid-pass: ONNX Runtime failed ({type(exc).__name__}: "
                         f"{str(exc)[:300]})", logging.WARNING)
                current[0] = eager
        return eager(*x)
    return forward


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
