"""Model layer: the registry of models, weight availability, and TransferModel construction.

Model specs and their availability are plain data and import no torch; the names that build or hold networks
(`create`, `TransferModel`, text encoders, LoRA) import torch, timm or transformers on first use, so the web
server and the CLI can list models and check runs without them.
"""

from typing import TYPE_CHECKING

from tlcore.core.lazy import lazy_exports
from tlcore.models.downloads import network_available
from tlcore.models.named import is_named, search_timm
from tlcore.models.registry import availability, get_spec, list_specs, modality_of
from tlcore.models.spec import Availability, ModelSpec

if TYPE_CHECKING:
    from tlcore.models.factory import create, imagenet_model, text_encoder_for
    from tlcore.models.lora import apply_lora, lora_applied, merge_lora
    from tlcore.models.text import GloveTextEncoder, HFTextEncoder, TextEncoder
    from tlcore.models.transfer import TransferModel

__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(["create", "imagenet_model", "text_encoder_for"], "tlcore.models.factory"),
    **dict.fromkeys(["apply_lora", "lora_applied", "merge_lora"], "tlcore.models.lora"),
    **dict.fromkeys(["GloveTextEncoder", "HFTextEncoder", "TextEncoder"], "tlcore.models.text"),
    "TransferModel": "tlcore.models.transfer",
})

__all__ = [
    "Availability", "ModelSpec", "TransferModel", "TextEncoder", "GloveTextEncoder", "HFTextEncoder",
    "get_spec", "list_specs", "modality_of", "availability", "create", "imagenet_model", "text_encoder_for",
    "is_named", "search_timm", "apply_lora", "merge_lora", "lora_applied", "network_available",
]
