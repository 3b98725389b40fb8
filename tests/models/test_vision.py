"""Image models: golden ImageNet predictions per bundled weight source, and the feature bodies."""

from __future__ import annotations

import pytest
import torch

from tests.support.models import GOLDEN_STAMPS, cached_imagenet, cached_model, preprocess, stamps_dir
from tlcore.models import get_spec


@pytest.mark.parametrize("model_id", ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1"])
def test_golden_imagenet_predictions(model_id: str) -> None:
    """Known photos get their ImageNet class: proves the weights, the key mapping and the preprocessing."""
    root = stamps_dir()
    spec = get_spec(model_id)
    batch = torch.stack([preprocess(root / rel, spec) for rel in GOLDEN_STAMPS])
    with torch.no_grad():
        top5 = cached_imagenet(model_id)(batch).topk(5).indices
    expected = torch.tensor(list(GOLDEN_STAMPS.values()))
    in_top5 = (top5 == expected[:, None]).any(1)
    top1 = top5[:, 0] == expected
    assert in_top5.all(), f"{model_id}: not in top-5 for {[r for r, ok in zip(GOLDEN_STAMPS, in_top5) if not ok]}"
    assert top1.sum() >= len(GOLDEN_STAMPS) - 1, f"{model_id}: top-1 only {int(top1.sum())}/{len(GOLDEN_STAMPS)}"


@pytest.mark.parametrize("model_id", ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1"])
def test_body_features_are_the_classifier_input(model_id: str) -> None:
    """body → head of the ImageNet classifier reproduces the classifier: nothing is lost or added."""
    spec = get_spec(model_id)
    full = cached_imagenet(model_id)
    body = cached_model(model_id).body
    last = full.classifier if spec.family == "timm" else full.classifier[-1]
    x = torch.randn(2, 3, spec.input_size, spec.input_size)
    with torch.no_grad():
        feats = body(x)
        assert feats.shape == (2, 1280)
        torch.testing.assert_close(last(feats), full(x), rtol=1e-4, atol=1e-4)


def test_spec_preprocessing_matches_timm_pretrained_cfg() -> None:
    import timm

    for model_id in ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_b0", "convnext_tiny", "vit_small"]:
        spec = get_spec(model_id)
        cfg = timm.create_model(spec.arch, pretrained=False, num_classes=0).pretrained_cfg
        assert (spec.input_size, spec.mean, spec.std) == (cfg["input_size"][1], cfg["mean"], cfg["std"]), model_id
        assert (spec.interpolation, spec.crop_pct) == (cfg["interpolation"], cfg["crop_pct"]), model_id
