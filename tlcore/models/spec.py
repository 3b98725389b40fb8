"""What a model is (ModelSpec) and the uniform module every model is wrapped in (TransferModel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

Family = Literal["torchvision", "timm", "hf", "glove"]
Init = Literal["pretrained", "scratch"]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the app and the engine need to know about a registry model, without loading it.

    Preprocessing (input size, mean/std, interpolation, crop) comes from the weights' own config, as in
    timm's PretrainedCfg, never from global constants.
    """

    id: str
    title: str
    modality: Literal["image", "text"]
    family: Family
    arch: str  # torchvision builder name, timm model name, HF repo id or folder, or "glove-bag"
    params_m: float  # parameters of the backbone, in millions
    licence: str
    source: str  # where pretrained weights come from, in words
    note: str  # when to pick it, in one plain sentence
    offline_package: str | None = None  # pip package that bundles the weights, if any
    input_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"
    crop_pct: float = 0.875
    max_length: int = 128  # text: tokens kept per example
    supports_lora: bool = False
    extra: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str  # "bundled in package X" / "cached at …" / why not, and how to fix it


class TransferModel(nn.Module):
    """A backbone (`body`: inputs → [B, feature_dim]) and a fresh linear `head` (→ [B, num_classes]).

    Images call `model(x)` with x a float [B,3,H,W]; text models call `model(input_ids, attention_mask)`.
    Strategies freeze or re-learn-rate `body` and `head` separately; the linear probe trains the head on
    cached `features(...)`.
    """

    def __init__(self, spec: ModelSpec, body: nn.Module, feature_dim: int, num_classes: int) -> None:
        super().__init__()
        self.spec = spec
        self.body = body
        self.feature_dim = feature_dim
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.body(*inputs)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(*inputs))
