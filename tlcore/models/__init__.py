"""Model layer: the registry of models, weight availability, and TransferModel construction.

Heavy libraries (timm, transformers, peft) are imported only when a model that needs them is built.
"""

from tlcore.models.downloads import network_available
from tlcore.models.lora import apply_lora, lora_applied, merge_lora
from tlcore.models.registry import create, get_spec, imagenet_model, list_specs, text_encoder_for
from tlcore.models.spec import Availability, ModelSpec, TransferModel
from tlcore.models.text import GloveTextEncoder, HFTextEncoder, TextEncoder
from tlcore.models.weights import availability

__all__ = [
    "Availability", "ModelSpec", "TransferModel", "TextEncoder", "GloveTextEncoder", "HFTextEncoder",
    "get_spec", "list_specs", "availability", "create", "imagenet_model", "text_encoder_for",
    "apply_lora", "merge_lora", "lora_applied", "network_available",
]
