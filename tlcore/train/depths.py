"""Frozen features at several depths of a pretrained network, all from one forward pass.

Images: forward hooks on about six stages of the full pretrained ImageNet classifier (`imagenet_model`), each
output globally average-pooled; the deepest tap is exactly what `TransferModel.body` returns, and the same pass
yields the 1000-class logits for the domain gauge. Hooks cost nothing measurable (FINDINGS.md §5). Texts
(Hugging Face encoders): every hidden state, mean-pooled over the real tokens as the body pools its last one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tlcore.core.errors import ModelError
from tlcore.models import create, imagenet_model
from tlcore.train.inputs import Inputs
from tlcore.train.prepare import Prepared

TAPS = 6  # depths read per image network (shallow to deep, the last one is the body's output)
GAUGE_ITEMS = 64  # items the pretrained ImageNet head is shown for the domain gauge


@dataclass(frozen=True)
class DepthFeatures:
    names: list[str]  # shallow to deep
    features: list[np.ndarray]  # [rows, D_depth] each, rows in the order asked for
    logits: np.ndarray | None  # [≤ GAUGE_ITEMS, 1000] of the pretrained ImageNet head (images only)


def image_taps(model: nn.Module) -> dict[str, nn.Module]:
    """The stage modules to read, shallow to deep, of a torchvision or timm ImageNet classifier."""
    if isinstance(getattr(model, "features", None), nn.Sequential):  # torchvision MobileNet / EfficientNet
        stages = list(model.features)
        return {f"features.{i}": stages[i] for i in _spread(len(stages))}
    if all(hasattr(model, f"layer{i}") for i in range(1, 5)):  # torchvision ResNet
        return {f"layer{i}": getattr(model, f"layer{i}") for i in range(1, 5)}
    if isinstance(getattr(model, "blocks", None), nn.Sequential):  # timm EfficientNet(-Lite), ViT, …
        blocks = list(model.blocks)
        taps = {f"blocks.{i}": blocks[i] for i in _spread(len(blocks), TAPS - 1)}
        if isinstance(getattr(model, "bn2", None), nn.Module):  # the head convolution the body pools
            taps["head"] = model.bn2
        return taps
    raise ModelError(f"Which layers transfer is not known for {type(model).__name__} models.")


def _spread(n: int, k: int = TAPS) -> list[int]:
    """k indices spread over 1 … n-1 (skipping the stem), always ending at the last."""
    return sorted({int(round(i)) for i in np.linspace(1, n - 1, min(k, n - 1))})


class _Pooled:
    """Forward hooks that keep each tapped module's output, averaged over its spatial (or token) positions."""

    def __init__(self, taps: dict[str, nn.Module]) -> None:
        self.out: dict[str, list[torch.Tensor]] = {name: [] for name in taps}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in taps.items()]

    def _hook(self, name: str) -> Callable:
        def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            o = output.float()
            self.out[name].append(o.mean(dim=(2, 3)) if o.dim() == 4 else o.mean(dim=1) if o.dim() == 3 else o)
        return hook

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


@torch.inference_mode()
def depth_features(prep: Prepared, inputs: Inputs, rows: np.ndarray,
                   progress: Callable[[int, int], None] | None = None) -> DepthFeatures:
    """Features of the items `rows` at every tapped depth of the prepared run's pretrained model."""
    if prep.spec.modality == "text":
        return _text_depths(prep, inputs, rows, progress)
    device = torch.device(prep.resolved.device)
    model = imagenet_model(prep.spec).to(device)
    if prep.resolved.channels_last:
        model.to(memory_format=torch.channels_last)
    taps = image_taps(model)
    pooled, order = _Pooled(taps), []
    try:
        for (x,), _, idx in inputs.batches(torch.as_tensor(rows), prep.resolved.batch_size * 2, train=False):
            model(x)
            order.append(idx.cpu())
            if progress:
                progress(sum(len(i) for i in order), len(rows))
    finally:
        pooled.close()
    position = _positions(rows, torch.cat(order))
    return DepthFeatures(list(taps), [torch.cat(pooled.out[n]).cpu().numpy()[position] for n in taps],
                         _head_logits(model, inputs, rows[:GAUGE_ITEMS], prep.spec.input_size))


def _head_logits(model: nn.Module, inputs: Inputs, rows: np.ndarray, size: int) -> np.ndarray:
    """The pretrained head's logits at the input size it was trained at. Its confidence means nothing at
    another size: on 8×8 digits decoded at 64 px MobileNetV2's mean max-softmax is 0.45 ("near"), at 224 px
    0.1 ("far", FINDINGS.md §5)."""
    out = []
    for (x,), _, _ in inputs.batches(torch.as_tensor(rows), len(rows), train=False):
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy()


def _text_depths(prep: Prepared, inputs: Inputs, rows: np.ndarray,
                 progress: Callable[[int, int], None] | None) -> DepthFeatures:
    body = create(prep.spec, prep.dataset.num_classes, "pretrained").body.to(prep.resolved.device).eval()
    encoder = getattr(body, "transformer", None)
    if encoder is None:
        raise ModelError(f"{prep.spec.title} has no layers to compare: it is a single bag of word vectors.")
    per_layer: list[list[torch.Tensor]] = []
    order = []
    for (ids, mask), _, idx in inputs.batches(torch.as_tensor(rows), prep.resolved.batch_size * 2, train=False):
        hidden = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        weight = mask.unsqueeze(-1).float()
        pooled = [((h.float() * weight).sum(1) / weight.sum(1).clamp(min=1e-9)).cpu() for h in hidden]
        per_layer = [*per_layer, *[[] for _ in range(len(pooled) - len(per_layer))]]
        for layer, p in zip(per_layer, pooled):
            layer.append(p)
        order.append(idx.cpu())
        if progress:
            progress(sum(len(i) for i in order), len(rows))
    position = _positions(rows, torch.cat(order))
    names = ["embeddings"] + [f"layer {i}" for i in range(1, len(per_layer))]
    return DepthFeatures(names, [torch.cat(layer).numpy()[position] for layer in per_layer], None)


def _positions(rows: np.ndarray, order: torch.Tensor) -> np.ndarray:
    """Where each of `rows` ended up in the batched output (text batches are sorted by length)."""
    where = {int(item): i for i, item in enumerate(order.tolist())}
    return np.array([where[int(r)] for r in rows], dtype=np.int64)
