"""Each strategy can overfit one small batch through the real loop, and trains exactly the parameters it
claims to (probe: head only; gradual: head first, then everything; LoRA: adapters and head)."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import pytest
import torch

from tlcore.core import strategies
from tlcore.core.errors import ConfigError
from tlcore.models import create, get_spec, text_encoder_for
from tlcore.train.defaults import Resolved
from tlcore.train.features import compute_features
from tlcore.train.inputs import FeatureInputs, ImageInputs, TextInputs
from tlcore.train.loop import LoopSettings, fit
from tlcore.train.plans import build_plan, count_trainable

N_CLASSES = 4
TEXTS = ["the match ended in a late goal", "striker scores twice in the final",
         "shares fell as the bank cut jobs", "profits rose at the oil company",
         "the band released a new album", "the film won an award at the festival",
         "the minister announced a new tax", "parliament voted on the election bill"]
TEXT_LABELS = [0, 0, 1, 1, 2, 2, 3, 3]


def resolved(epochs: int, lr: float, body_lr: float) -> Resolved:
    return Resolved(device="cpu", epochs=epochs, batch_size=8, lr=lr, body_lr=body_lr, image_size=64,
                    max_length=32, amp_bf16=False, channels_last=False)


@lru_cache(maxsize=1)
def tiny_images() -> tuple[torch.Tensor, torch.Tensor]:
    """Eight 64 px images, two per class: a coloured square on a class-specific side of a grey field."""
    g = torch.Generator().manual_seed(0)
    images = torch.full((8, 3, 64, 64), 128, dtype=torch.uint8)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    for i, y in enumerate(labels.tolist()):
        r, c = divmod(y, 2)
        images[i, y % 3, r * 32:(r + 1) * 32, c * 32:(c + 1) * 32] = 255
        images[i] = (images[i].int() + torch.randint(-20, 20, (3, 64, 64), generator=g)).clamp(0, 255).to(torch.uint8)
    return images, labels


def image_inputs() -> ImageInputs:
    images, labels = tiny_images()
    spec = get_spec("mobilenet_v2")
    return ImageInputs(images, labels, spec.mean, spec.std, torch.device("cpu"), augment=False)


def run_fit(plan, inputs, epochs: int, events: list | None = None):
    idx = torch.arange(8)
    settings = LoopSettings(epochs=epochs, batch_size=8, weight_decay=0.0, patience=0)
    return fit(plan, inputs, idx, idx, settings, emit=lambda k, d: events.append(k) if events is not None else None,
               should_stop=lambda: False, generator=torch.Generator().manual_seed(0))


def params_of(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {k for k, v in module.named_parameters() if not torch.equal(before[k], v.detach())}


@pytest.mark.parametrize("strategy, init, lr, body_lr", [
    ("scratch", "scratch", 3e-3, 3e-3),
    ("finetune", "pretrained", 1e-2, 1e-3),
])
def test_whole_network_strategies_overfit_one_batch(strategy, init, lr, body_lr):
    torch.manual_seed(0)
    model = create(get_spec("mobilenet_v2"), N_CLASSES, init)
    plan = build_plan(strategy, model, resolved(25, lr, body_lr))
    before = params_of(model.body)
    result = run_fit(plan, image_inputs(), 25)
    assert result.history[-1]["train_acc"] == 1.0
    assert result.history[-1]["train_loss"] < 0.25 * result.history[0]["train_loss"]
    assert changed(before, model.body), "the body must train"


def test_linear_probe_overfits_on_cached_features_and_leaves_body_untouched():
    torch.manual_seed(0)
    model = create(get_spec("mobilenet_v2"), N_CLASSES, "pretrained")
    plan = build_plan("linear_probe", model, resolved(40, 3e-2, 3e-3))
    assert plan.uses_cached_features and plan.module is model.head
    before = params_of(model.body)
    features = compute_features(model.body, image_inputs(), 8, batch_size=4)
    assert features.shape == (8, model.feature_dim)
    result = run_fit(plan, FeatureInputs(features, tiny_images()[1], torch.device("cpu")), 40)
    assert result.history[-1]["train_acc"] == 1.0
    assert not changed(before, model.body)
    assert count_trainable(plan) == model.feature_dim * N_CLASSES + N_CLASSES


def test_fine_tuning_the_last_layers_leaves_the_first_two_thirds_and_their_statistics_alone():
    torch.manual_seed(0)
    model = create(get_spec("mobilenet_v2"), N_CLASSES, "pretrained")
    plan = build_plan("finetune_top", model, resolved(4, 1e-2, 1e-3))
    names = [n for n, _ in model.body.named_parameters()]
    frozen = set(names[: int(len(names) * 2 / 3)])
    before, stats = params_of(model.body), model.body.features[1].conv[0][1].running_mean.clone()
    run_fit(plan, image_inputs(), 4)
    moved = changed(before, model.body)
    assert moved and not moved & frozen and moved <= set(names) - frozen
    assert torch.equal(model.body.features[1].conv[0][1].running_mean, stats)  # a frozen layer's batch norm
    assert count_trainable(plan) < sum(p.numel() for p in model.parameters())


def _index_after(name: str, marker: str) -> int:
    return int(name.split(marker)[1].split(".")[0])


FROZEN_THROUGH = {  # (model, stage as the layer advice names it) -> is this body parameter frozen?
    ("mobilenet_v2", "features.8"): lambda n: _index_after(n, "features.") <= 8,
    ("efficientnet_lite0", "blocks.2"): lambda n: n.startswith(("conv_stem.", "bn1.")) or (
        n.startswith("blocks.") and _index_after(n, "blocks.") <= 2),
    ("minilm-l6", "layer 4"): lambda n: ".embeddings." in n or (".layer." in n and _index_after(n, ".layer.") < 4),
}


@pytest.mark.parametrize("model_id, stage", list(FROZEN_THROUGH))
def test_fine_tuning_the_last_layers_freezes_exactly_through_the_named_stage(model_id, stage):
    model = create(get_spec(model_id), N_CLASSES, "scratch")
    plan = build_plan("finetune_top", model, dataclasses.replace(resolved(4, 1e-2, 1e-3), freeze_through=stage))
    frozen = {n: not p.requires_grad for n, p in model.body.named_parameters()}
    expected = {n: FROZEN_THROUGH[(model_id, stage)](n) for n in frozen}
    assert frozen == expected and 0 < sum(expected.values()) < len(expected)
    assert all(p.requires_grad for p in model.head.parameters())
    assert count_trainable(plan) == sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("model_id, stage, match", [
    ("mobilenet_v2", "blocks.3", r"MobileNetV2 has no stage 'blocks.3'; its stages are features.1, .*features.18"),
    ("minilm-l6", "layer 9", r"no stage 'layer 9'; its stages are embeddings, layer 1, .*layer 6"),
    ("glove-50d-bag", "layer 1", "has no stages to freeze through"),
])
def test_a_stage_the_model_does_not_have_is_refused_plainly(model_id, stage, match):
    model = create(get_spec(model_id), N_CLASSES, "scratch")
    with pytest.raises(ConfigError, match=match):
        build_plan("finetune_top", model, dataclasses.replace(resolved(4, 1e-2, 1e-3), freeze_through=stage))


def test_gradual_trains_head_first_then_unfreezes_body():
    torch.manual_seed(0)
    model = create(get_spec("mobilenet_v2"), N_CLASSES, "pretrained")
    plan = build_plan("gradual", model, resolved(6, 1e-2, 1e-3))
    assert plan.frozen_body_epochs == 2
    before = params_of(model.body)
    run_fit(plan, image_inputs(), 2)  # only the frozen phase
    assert not changed(before, model.body)
    result = run_fit(plan, image_inputs(), 20)  # fit restarts its epoch count: epochs ≥ 2 unfreeze
    assert changed(before, model.body)
    assert result.history[-1]["train_acc"] == 1.0


def text_inputs(spec_id: str) -> TextInputs:
    encoded = text_encoder_for(get_spec(spec_id))(TEXTS)
    return TextInputs(encoded["input_ids"], encoded["attention_mask"], torch.tensor(TEXT_LABELS),
                      torch.device("cpu"))


def test_lora_trains_only_the_adapters_and_the_head():
    model = create(get_spec("minilm-l6"), N_CLASSES, "pretrained")  # the plan applies the adapters
    plan = build_plan("lora", model, resolved(30, 1e-2, 5e-3))
    trainable = {n for group in plan.param_groups for p in group["params"] for n, q in model.named_parameters()
                 if p is q}
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)


@pytest.mark.parametrize("model_id, strategy, lr, epochs", [("minilm-l6", "lora", 1e-2, 30),
                                                             ("glove-50d-bag", "scratch", 5e-2, 40)])
def test_text_strategies_overfit_one_batch(model_id, strategy, lr, epochs):
    torch.manual_seed(0)
    init = "pretrained" if strategies.get(strategy).pretrained else "scratch"
    model = create(get_spec(model_id), N_CLASSES, init)
    plan = build_plan(strategy, model, resolved(epochs, lr, lr * (0.5 if strategy == "lora" else 1.0)))
    result = run_fit(plan, text_inputs(model_id), epochs)
    assert result.history[-1]["train_acc"] == 1.0


def test_events_come_in_order_and_best_epoch_is_restored():
    torch.manual_seed(0)
    model = create(get_spec("mobilenet_v2"), N_CLASSES, "pretrained")
    plan = build_plan("linear_probe", model, resolved(5, 1e-2, 1e-3))
    features = compute_features(model.body, image_inputs(), 8, batch_size=8)
    events: list[str] = []
    result = run_fit(plan, FeatureInputs(features, tiny_images()[1], torch.device("cpu")), 5, events)
    assert events[0] == "start" and events.count("epoch") == 5
    best = max(result.history, key=lambda r: (r["val_acc"], -r["val_loss"]))
    assert result.best_epoch == best["epoch"]
