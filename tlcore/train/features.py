"""Frozen-backbone features of a PyTorch model, computed once per (dataset, model, preprocessing) and cached on
disk (`tlcore.train.feature_cache`).

A linear probe then costs one forward pass over the data, however many epochs, seeds or strategies
reuse it: the cache is shared by every run that uses the same data and model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from tlcore.models.spec import ModelSpec
from tlcore.train.feature_cache import cached_feature_array
from tlcore.train.frozen_onnx import Forward, log_once, onnx_forward, torch_reason
from tlcore.train.inputs import ImageInputs, Inputs

log = logging.getLogger(__name__)


@torch.inference_mode()
def compute_features(body: torch.nn.Module, inputs: Inputs, n: int, batch_size: int, *, amp_bf16: bool = False,
                     progress: Callable[[int, int], None] | None = None, model_id: str | None = None,
                     pretrained: ModelSpec | None = None) -> torch.Tensor:
    """Features [n, D] of every item (no augmentation), in dataset order, on the CPU.

    Images on a CPU go through ONNX Runtime when it can run the body (see `frozen_onnx`), else the eager body;
    `model_id` names the body in the ONNX cache (default: its class name; the weights are in the key anyway);
    `pretrained`: the body is that bundled model's untouched pretrained body (its export is then indexed).
    """
    body.eval()
    out: torch.Tensor | None = None
    forward: Forward | None = None
    done = 0
    for batch_inputs, _, idx in inputs.batches(torch.arange(n), batch_size, train=False):
        if forward is None:
            forward = frozen_forward(body, inputs, batch_inputs, amp_bf16, model_id, pretrained)
        feats = forward(*batch_inputs)
        if out is None:
            out = torch.empty(n, feats.shape[1])
        out[idx.cpu()] = feats
        done += len(idx)
        if progress:
            progress(done, n)
    return out if out is not None else torch.empty(0, 0)


def frozen_forward(body: torch.nn.Module, inputs: Inputs, first: tuple[torch.Tensor, ...], amp_bf16: bool,
                   model_id: str | None, pretrained: ModelSpec | None = None) -> Forward:
    """ONNX Runtime for images on a CPU when it works, else the eager body (autocast when asked)."""
    name = model_id or type(body).__name__

    def eager(*x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x[0].device.type, dtype=torch.bfloat16, enabled=amp_bf16):
            return body(*x).float().cpu()

    if isinstance(inputs, ImageInputs):
        reason = torch_reason(first[0].device, amp_bf16)
        fast = onnx_forward(body, first[0], model_id, pretrained) if reason is None else None
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
    """`feature_cache.cached_feature_array` for a PyTorch pass: the features as a CPU tensor."""
    return torch.from_numpy(cached_feature_array(path, n, lambda: compute().float().cpu().numpy()))
