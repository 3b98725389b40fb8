"""Per-device defaults, so a CPU run of a built-in dataset takes minutes and a GPU run uses the GPU well.

`resolve` turns a TrainConfig with `None`s into concrete numbers; the resolved values are stored with the
run, so every chart can be reproduced exactly.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from tlcore.core import settings, strategies
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.models import ModelSpec
from tlcore.train.device import cpu_bf16_native, cuda_available, cuda_bf16_supported, cuda_device_name

# The registry's learning rates (`Strategy.head_lr`) fit CNNs and MiniLM; some model families need their own.
# From scratch every layer shares one rate: a transformer diverges at a CNN's 2e-3. Averaged 50-d word vectors
# are small, low-variance features: at 1e-2 the probe's head barely moves in 15 epochs of 10 examples per class
# (bbc-news test accuracy 0.84 over 3 seeds; 0.89 at 3e-2).
FAMILY_LR = {("scratch", "hf"): 3e-4, ("scratch", "glove"): 5e-3, ("linear_probe", "glove"): 3e-2,
             ("distill", "hf"): 3e-4, ("distill", "glove"): 5e-3}  # distillation trains the scratch network
BODY_LR_RATIO = {"image": 0.1, "text": 0.05}  # pretrained layers train at this fraction of the head's rate


@dataclass(frozen=True)
class Resolved:
    """Concrete training numbers after applying device defaults to a TrainConfig."""

    device: str
    epochs: int
    batch_size: int
    lr: float
    body_lr: float
    image_size: int
    max_length: int
    amp_bf16: bool
    channels_last: bool
    capped: bool = False  # fewer epochs than asked because of TrainConfig.max_steps
    freeze_through: str | None = None  # the body stage "fine-tune the last layers" keeps frozen through

    def to_dict(self) -> dict:
        return asdict(self)


# Below this many training texts per class a fine-tune is noisy and slow for little gain: probe instead.
FINETUNE_TEXT_MIN_PER_CLASS = 100


def default_strategy(modality: str, n_train: int, num_classes: int) -> str:
    """The transfer strategy to use when the person does not choose one (measured with `python -m bench`).

    Images: a linear probe on cached features. On tux-photos it matches a full fine-tune of the tutorial
    loop at a fraction of the cost. Texts with enough examples per class: a fine-tune, because frozen
    sentence embeddings leave accuracy on the table there (rotten-tomatoes: probe 0.72, fine-tune 0.8);
    with few examples the probe wins on both time and noise.
    """
    if modality == "text" and n_train >= FINETUNE_TEXT_MIN_PER_CLASS * max(num_classes, 1):
        return "finetune"
    return "linear_probe"


def pick_device(requested: str) -> str:
    """'auto' → cuda when present, else cpu. Asking for cuda without one is a clear error, not a crash."""
    if requested == "cuda" and not cuda_available():
        raise ConfigError("You asked for the GPU (cuda) but none is available here; use --device cpu or auto.")
    if requested == "auto":
        return "cuda" if cuda_available() else "cpu"
    return requested


def resolve(config: TrainConfig, spec: ModelSpec, native_side: int | None = None) -> Resolved:
    """`native_side`: the data's typical image side, so small images are not upscaled needlessly."""
    device = pick_device(config.device)
    on_gpu = device == "cuda"
    is_image = spec.modality == "image"
    if is_image:
        default_batch = 64 if on_gpu else 32
    else:
        default_batch = 32 if on_gpu else 16
    strategy = strategies.get(config.strategy)
    lr = config.lr if config.lr is not None else FAMILY_LR.get((strategy.id, spec.family), strategy.head_lr)
    ratio = strategy.body_lr_ratio if strategy.body_lr_ratio is not None else BODY_LR_RATIO[spec.modality]
    body_lr = lr * ratio
    return Resolved(
        device=device,
        epochs=config.epochs or (20 if on_gpu else 15),
        batch_size=config.batch_size or default_batch,
        lr=lr,
        body_lr=body_lr,
        image_size=config.image_size or _default_image_size(spec, on_gpu or strategy.frozen_features,
                                                             native_side),
        max_length=config.max_length or spec.max_length,
        amp_bf16=cuda_bf16_supported() if on_gpu else _cpu_bf16(strategy),
        channels_last=is_image and not _is_vit(spec),
        freeze_through=config.freeze_through,
    )


def _cpu_bf16(strategy: strategies.Strategy) -> bool:
    """bfloat16 autocast on a CPU with bfloat16 matrix instructions, as on a GPU, for runs that train layers; measured
    on 2 Zen 4 cores (`python -m bench.cpu_bf16`, docs/performance.md): MiniLM-L6's fine-tune reached the same test
    accuracy 1.26-1.44x sooner, MobileNetV2's fine-tune epochs were 1.1-1.5x shorter, a ViT-S step 1.9x. Frozen
    features and the final test predictions stay float32 (`inference_bf16`); without the instructions bfloat16 would be
    emulated, slower than float32."""
    return not strategy.frozen_features and settings.cpu_bf16() and cpu_bf16_native()


def inference_bf16(r: Resolved) -> bool:
    """Whether a pass that trains nothing runs under bfloat16 autocast: a frozen feature pass (a probe's, a warm
    start's) and the run's final predictions on its test set. On a GPU, as the run does; on a CPU never, so frozen
    features stay equal to ONNX Runtime's and shared in one cache file (a warm start reads the probe's), and the test
    accuracy and predictions a run saves are exactly what its saved float32 model gives (the app's predictions, feature
    maps, exports)."""
    return r.amp_bf16 and r.device != "cpu"


def _is_vit(spec: ModelSpec) -> bool:
    return "vit" in spec.arch.lower()


def _default_image_size(spec: ModelSpec, native_size: bool, native_side: int | None) -> int:
    """CNNs on a CPU train ~3x faster at 160 px than at 224 px for a small loss in accuracy, so training on a
    CPU uses at most 160 px. `native_size`: on a GPU, or for strategies that only read frozen features (one
    cached forward pass per image, so the size costs little), the model's own input size: pretrained features
    are best at the size they were trained at (tux-photos, 5 per class, 3 seeds: probe 0.765 at 160 px, 0.784
    at 224 px; 2 per class 0.618 → 0.696). Small images (digits) need no more than about twice their own side
    (at least 64 px, rounded to 32). A ViT's position embeddings are tied to its native size, so it keeps it,
    as does any timm model whose pretrained cfg says its input size is fixed."""
    if _is_vit(spec) or spec.extra.get("fixed_input_size"):
        return spec.input_size
    size = spec.input_size if native_size else min(spec.input_size, 160)
    if native_side:
        size = min(size, max(64, -(-2 * native_side // 32) * 32))
    return size


def device_description() -> str:
    """What a person should read as 'where training runs', e.g. 'GPU: NVIDIA H100' or 'CPU (2 cores)'."""
    if cuda_available():
        return f"GPU: {cuda_device_name()}"
    return f"CPU ({os.cpu_count()} cores)"
