"""Per-device defaults: resolved numbers follow the device, the model family and the data's resolution."""

import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.models import get_spec
from tlcore.train.defaults import inference_bf16, resolve
from tlcore.train.device import cpu_bf16_native

CPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU defaults")


@CPU_ONLY
@pytest.mark.parametrize("native, expected", [(None, 160), (400, 160), (28, 64), (8, 64), (50, 128)])
def test_cpu_image_size_follows_the_data(native, expected):
    cfg = TrainConfig(data="x", model="mobilenet_v2", strategy="scratch")
    r = resolve(cfg, get_spec("mobilenet_v2"), native)
    assert r.image_size == expected and r.device == "cpu" and r.channels_last


@CPU_ONLY
@pytest.mark.parametrize("strategy, native, expected", [("linear_probe", None, 224), ("knn", 400, 224),
                                                         ("linear_probe", 28, 64), ("finetune", None, 160)])
def test_frozen_feature_strategies_read_features_at_the_models_own_size(strategy, native, expected):
    """One cached forward pass per image: no reason to shrink below the size the weights were trained at."""
    r = resolve(TrainConfig(data="x", model="mobilenet_v2", strategy=strategy), get_spec("mobilenet_v2"), native)
    assert r.image_size == expected


@CPU_ONLY
def test_explicit_settings_win_and_scratch_lr_depends_on_family():
    cfg = TrainConfig(data="x", model="mobilenet_v2", strategy="finetune", image_size=96, lr=0.01, epochs=3)
    r = resolve(cfg, get_spec("mobilenet_v2"), 28)
    assert (r.image_size, r.lr, r.body_lr, r.epochs) == (96, 0.01, pytest.approx(0.001), 3)
    text = resolve(TrainConfig(data="x", model="minilm-l6", strategy="scratch"), get_spec("minilm-l6"))
    image = resolve(TrainConfig(data="x", model="mobilenet_v2", strategy="scratch"), get_spec("mobilenet_v2"))
    assert text.lr < image.lr and text.body_lr == text.lr and text.max_length == get_spec("minilm-l6").max_length


@CPU_ONLY
@pytest.mark.parametrize("model, strategy, trains_layers", [
    ("minilm-l6", "finetune", True), ("minilm-l6", "scratch", True), ("minilm-l6", "lora", True),
    ("vit_small", "finetune", True), ("mobilenet_v2", "gradual", True), ("glove-50d-bag", "distill", True),
    ("minilm-l6", "linear_probe", False), ("vit_small", "knn", False), ("mobilenet_v2", "linear_probe", False)])
def test_on_a_cpu_runs_that_train_layers_use_bfloat16_where_it_multiplies_bfloat16_natively(model, strategy,
                                                                                             trains_layers,
                                                                                             monkeypatch):
    """As on a GPU; frozen passes, a fine-tune's warm start included, stay float32 (equal to ONNX Runtime's, and
    one cached file for the probe and the warm start)."""
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    r = resolve(TrainConfig(data="x", model=model, strategy=strategy), get_spec(model))
    assert r.amp_bf16 == (trains_layers and cpu_bf16_native())
    assert not inference_bf16(r)


@CPU_ONLY
def test_tlab_cpu_bf16_off_keeps_every_cpu_run_in_float32(monkeypatch):
    monkeypatch.setenv("TLAB_CPU_BF16", "0")
    assert not resolve(TrainConfig(data="x", model="minilm-l6", strategy="finetune"), get_spec("minilm-l6")).amp_bf16


@CPU_ONLY
def test_asking_for_a_missing_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="no.*GPU|none is available"):
        resolve(TrainConfig(data="x", model="mobilenet_v2", device="cuda"), get_spec("mobilenet_v2"))


@pytest.mark.parametrize("modality, n_train, classes, expected", [
    ("image", 5000, 10, "linear_probe"), ("text", 3164, 2, "finetune"), ("text", 50, 5, "linear_probe"),
    ("text", 199, 2, "linear_probe"), ("text", 200, 2, "finetune")])
def test_default_strategy_fine_tunes_only_texts_with_enough_examples_per_class(modality, n_train, classes, expected):
    from tlcore.train.defaults import default_strategy

    assert default_strategy(modality, n_train, classes) == expected
