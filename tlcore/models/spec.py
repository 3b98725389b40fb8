"""What a model is (ModelSpec) and whether its weights can be had (Availability): plain data, no torch, so the
web server can list models and check a run before queueing it (`tlcore.models.transfer` holds the module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
