"""Shared helpers for the model-layer tests (imported by tests/test_models*.py; not a conftest plugin).

Loaded models are cached per process with lru_cache so each weight file is read once per test session.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from tlcore.core import settings
from tlcore.models import ModelSpec, TransferModel, create, get_spec, imagenet_model

OFFLINE_IDS = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "minilm-l6", "glove-50d-bag"]
ONLINE_IDS = ["resnet18", "resnet50", "efficientnet_b0", "convnext_tiny", "vit_small",
              "distilbert-base-uncased", "bert-base-uncased", "roberta-base"]

# Tux Paint stamp photos and their ImageNet-1k class index.
GOLDEN_STAMPS = {
    "food/fruit/banana.png": 954, "food/fruit/strawberry.png": 949, "food/fruit/pineapple.png": 953,
    "food/fruit/lemon.png": 951, "animals/mammals/equines/zebra.png": 340, "animals/marsupials/koala.png": 105,
    "animals/mammals/cats/tiger.png": 292, "hobbies/music/string/violin.png": 889,
}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every model test runs with the network forbidden."""
    monkeypatch.setenv("TLAB_OFFLINE", "1")


@cache
def cached_model(model_id: str, init: str = "pretrained", num_classes: int = 3) -> TransferModel:
    torch.manual_seed(0)
    return create(get_spec(model_id), num_classes, init).eval()


@cache
def cached_imagenet(model_id: str) -> torch.nn.Module:
    return imagenet_model(get_spec(model_id))


def stamps_dir() -> Path:
    path = settings.builtin_dir() / "debian" / "usr" / "share" / "tuxpaint" / "stamps"
    if not path.is_dir():
        pytest.skip(f"Tux Paint stamps not unpacked at {path} (built-in data not installed)")
    return path


def preprocess(path: Path, spec: ModelSpec) -> torch.Tensor:
    """RGBA stamp → composite on white → resize short side to size/crop_pct → center crop → normalise."""
    image = Image.open(path).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    rgb = Image.alpha_composite(white, image).convert("RGB")
    transform = v2.Compose([
        v2.PILToTensor(),
        v2.Resize(int(spec.input_size / spec.crop_pct), interpolation=v2.InterpolationMode[spec.interpolation.upper()],
                  antialias=True),
        v2.CenterCrop(spec.input_size),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(list(spec.mean), list(spec.std)),
    ])
    return transform(rgb)
