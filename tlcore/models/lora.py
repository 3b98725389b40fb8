"""LoRA for transformer bodies (peft): small low-rank adapters on the attention projections.

After `apply_lora` only the adapters and the head train. `merge_lora` folds the adapters into the base
weights and removes the peft wrapper, so the state dict is that of a plain `create(spec, n)` model (for
export, and for loading without peft).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlcore.core.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

    from tlcore.models.transfer import TransferModel


def _is_peft(module: nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(module, PeftModel)


def apply_lora(model: TransferModel, r: int = 8, alpha: int = 16, dropout: float = 0.1) -> TransferModel:
    """Wrap `model.body` with LoRA adapters on the spec's attention projections; returns the same model.

    peft freezes every body parameter except the adapters; the head stays trainable.
    """
    spec = model.spec
    if not spec.supports_lora or "lora_targets" not in spec.extra:
        kind = "a CNN" if spec.modality == "image" else "not a transformer"
        raise ModelError(f"LoRA needs a transformer model; {spec.id} is {kind} — use finetune or gradual instead.")
    if _is_peft(model.body):
        raise ModelError(f"LoRA is already applied to this {spec.id} model.")
    if r < 1 or alpha < 1 or not 0.0 <= dropout < 1.0:
        raise ModelError(f"LoRA settings out of range: r={r}, alpha={alpha}, dropout={dropout}.")
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none",
                        target_modules=list(spec.extra["lora_targets"]))
    model.body = get_peft_model(model.body, config)
    for param in model.head.parameters():
        param.requires_grad_(True)
    return model


def merge_lora(model: TransferModel) -> TransferModel:
    """Fold LoRA adapters into the body's weights and drop the peft wrapper (no-op without LoRA)."""
    if _is_peft(model.body):
        model.body = model.body.merge_and_unload()
        for param in model.body.parameters():
            param.requires_grad_(True)
    return model


def lora_applied(model: TransferModel) -> bool:
    return _is_peft(model.body)
