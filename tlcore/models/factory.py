"""The factory that builds a TransferModel from a registry spec, and the other networks a spec stands for."""

from __future__ import annotations

from typing import Literal

from torch import nn

from tlcore.core.errors import ModelError
from tlcore.models import text, vision
from tlcore.models.named import is_named
from tlcore.models.registry import availability
from tlcore.models.spec import ModelSpec
from tlcore.models.transfer import TransferModel


def create(spec: ModelSpec, num_classes: int, init: Literal["pretrained", "scratch"] = "pretrained") -> TransferModel:
    """A TransferModel of `spec` with a fresh head of `num_classes` outputs.

    "scratch" builds the same architecture with random weights and needs no weight files; "pretrained" loads
    the weights and raises ModelError (saying why and what to do) if they cannot be had.
    """
    if init not in ("pretrained", "scratch"):
        raise ModelError(f"init must be 'pretrained' or 'scratch', not {init!r}.")
    if num_classes < 1:
        raise ModelError(f"num_classes must be at least 1, not {num_classes}.")
    pretrained = init == "pretrained"
    if pretrained:
        avail = availability(spec)
        if not avail.available:
            raise ModelError(f"Pretrained weights for {spec.id} are not available: {avail.reason}.")
    body, dim = _body(spec, pretrained)
    return TransferModel(spec, body, dim, num_classes)


def _body(spec: ModelSpec, pretrained: bool) -> tuple[nn.Module, int]:
    if spec.family in ("torchvision", "timm"):
        return vision.vision_body(spec, pretrained)
    if spec.family == "hf":
        return text.hf_classifier_body(spec, pretrained) if is_named(spec.id) else text.hf_body(spec, pretrained)
    if spec.family == "glove":
        return text.glove_body(spec, pretrained)
    raise ModelError(f"Unknown model family {spec.family!r}.")


def imagenet_model(spec: ModelSpec) -> nn.Module:
    """The full pretrained 1000-class ImageNet classifier of an image spec (eval mode)."""
    if spec.modality != "image":
        raise ModelError(f"{spec.id} is a text model; only image models have an ImageNet classifier.")
    avail = availability(spec)
    if not avail.available:
        raise ModelError(f"Pretrained weights for {spec.id} are not available: {avail.reason}.")
    return vision.imagenet_classifier(spec, pretrained=True)


def text_encoder_for(spec: ModelSpec) -> text.TextEncoder:
    """The tokenizer of a text spec: `encoder(texts)` → input_ids/attention_mask; `.pad_id`."""
    if spec.modality != "text":
        raise ModelError(f"{spec.id} is an image model; it has no text encoder.")
    return text.text_encoder(spec)


__all__ = ["create", "imagenet_model", "text_encoder_for"]
