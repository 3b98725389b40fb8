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

from tlcore.core.errors import ConfigError, ModelError
from tlcore.models import ModelSpec, create, imagenet_model
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


def body_stages(body: nn.Module) -> dict[str, nn.Module]:
    """A `TransferModel.body`'s stages, shallow to deep, under the names the depth curve gives them (the same
    modules sit in the body as in the ImageNet classifier; a text body's transformer has its embeddings and
    layers)."""
    transformer = getattr(body, "transformer", None)
    if transformer is None:
        return image_taps(body)
    count = getattr(getattr(transformer, "config", None), "num_hidden_layers", None)
    layers = next((m for m in transformer.modules() if isinstance(m, nn.ModuleList) and len(m) == count), None)
    embeddings = getattr(transformer, "embeddings", None)
    if layers is None or not isinstance(embeddings, nn.Module):
        raise ModelError(f"The layers of {type(transformer).__name__} are not known.")
    return {"embeddings": embeddings, **{f"layer {i}": layer for i, layer in enumerate(layers, start=1)}}


def parameters_through(body: nn.Module, stage: str, title: str) -> list[nn.Parameter]:
    """The body's parameter tensors, in order, up to and including the last of the stage named `stage`
    (ConfigError, listing the names there are, when the model has no such stage)."""
    try:
        stages = body_stages(body)
    except ModelError as exc:
        raise ConfigError(f"{title} has no stages to freeze through ({exc}); leave freeze_through empty.") from exc
    if stage not in stages:
        raise ConfigError(f"freeze_through: {title} has no stage {stage!r}; its stages are "
                          f"{', '.join(stages)}.")
    own = {id(p) for p in stages[stage].parameters()}
    params = list(body.parameters())
    last = max((i for i, p in enumerate(params) if id(p) in own), default=None)
    if last is None:
        raise ConfigError(f"freeze_through: the stage {stage!r} of {title} has no weights; name another.")
    return params[: last + 1]


def stage_names(spec: ModelSpec) -> list[str]:
    """The names `freeze_through` takes for this model, shallow to deep (none for a model without stages)."""
    try:
        return list(body_stages(create(spec, 2, "scratch").body))
    except ModelError:
        return []


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
