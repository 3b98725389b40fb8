"""Image backbones from torchvision and timm: the full ImageNet classifier, and a body that yields features.

A body maps a float image batch [B,3,H,W] (normalised with the spec's mean/std) to pooled features
[B, feature_dim]. The same architecture is built for "pretrained" and "scratch"; only the weights differ.
"""

from __future__ import annotations

import torch
import torchvision
from torch import nn

from tlcore.core.errors import ModelError
from tlcore.models import downloads, weights
from tlcore.models.spec import ModelSpec

# ---------------------------------------------------------------- full ImageNet classifiers

def imagenet_classifier(spec: ModelSpec, pretrained: bool = True) -> nn.Module:
    """The complete 1000-class ImageNet model of `spec` (in eval mode), with its pretrained weights."""
    if spec.family == "torchvision":
        model = _torchvision_classifier(spec, pretrained)
    elif spec.family == "timm":
        model = _timm_classifier(spec, pretrained)
    else:
        raise ModelError(f"{spec.id} is not an image model.")
    return model.eval()


def _torchvision_classifier(spec: ModelSpec, pretrained: bool) -> nn.Module:
    builder = getattr(torchvision.models, spec.arch)
    if not pretrained:
        return builder(weights=None)
    if spec.offline_package:
        model = builder(weights=None)
        package, relpath = spec.offline_package, spec.extra["weights_file"]
        state = weights.load_checkpoint(weights.weight_file(package, relpath))
        model.load_state_dict(state)
        return model
    weights_enum = torchvision.models.get_model_weights(spec.arch)[spec.extra["weights_tag"]]
    # fetched first so TLAB_WEIGHTS_MIRROR applies; torchvision then finds it in the torch hub cache
    _guarded_download(spec, lambda: downloads.fetch_torch_checkpoint(weights_enum.url))
    return _guarded_download(spec, lambda: builder(weights=weights_enum))


def _timm_classifier(spec: ModelSpec, pretrained: bool) -> nn.Module:
    import timm

    if not pretrained or not spec.offline_package:
        return _timm_create(spec, pretrained)
    model = timm.create_model(spec.arch, pretrained=False)
    path = weights.weight_file(spec.offline_package, spec.extra["weights_file"])
    state = weights.load_checkpoint(path)
    model.load_state_dict(weights.map_positional(state, model.state_dict()))
    return model


def _timm_create(spec: ModelSpec, pretrained: bool, **kwargs) -> nn.Module:
    """timm's factory; a cached checkpoint is passed as a local file so no network call is even tried."""
    import timm

    cached = downloads.hf_cached_file(spec.extra["hf_hub_id"]) if pretrained else None
    if cached:
        kwargs["pretrained_cfg_overlay"] = {"file": cached}
    return _guarded_download(spec, lambda: timm.create_model(spec.arch, pretrained=pretrained, **kwargs))


def _guarded_download(spec: ModelSpec, load):
    """Run a library loader that may download, turning its failures into a plain ModelError."""
    try:
        return load()
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"Could not load the pretrained weights of {spec.id}: {exc}") from exc


# ---------------------------------------------------------------- feature bodies

class PooledFeatures(nn.Module):
    """Convolutional feature maps → global average pool → [B, C]; for torchvision models with `.features`."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


def vision_body(spec: ModelSpec, pretrained: bool) -> tuple[nn.Module, int]:
    """(body, feature_dim) for an image spec: the classifier with its final layer removed."""
    if spec.family == "timm" and not spec.offline_package:
        body = _timm_create(spec, pretrained, num_classes=0)
        return body, body.num_features
    full = imagenet_classifier(spec, pretrained=pretrained).train()
    if spec.family == "timm":
        full.reset_classifier(0)
        return full, full.num_features
    return _strip_torchvision(full)


def _strip_torchvision(model: nn.Module) -> tuple[nn.Module, int]:
    """Remove a torchvision classifier's last layer; dropout before it goes too, so features are deterministic."""
    if hasattr(model, "fc"):  # ResNet family: avgpool + flatten are part of forward
        dim = model.fc.in_features
        model.fc = nn.Identity()
        return model, dim
    if hasattr(model, "features") and hasattr(model, "classifier"):  # MobileNet family
        last = [m for m in model.classifier.modules() if isinstance(m, nn.Linear)][0]
        return PooledFeatures(model.features), last.in_features
    raise ModelError(f"Do not know how to take the features of {type(model).__name__}.")
