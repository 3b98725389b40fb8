"""Any timm image model or Hugging Face text encoder by name: `timm:convnext_nano.in12k`, `hf:org/name`.

The curated registry stays the default list; these ids reach every other model the libraries know. A name is
untrusted input: it is checked against timm's own list or Hugging Face's repo-id rules before anything is looked
up, remote code is never run, and availability comes only from the local caches (a typo offline says "not in
the local cache" instead of trying the network). Preprocessing comes from the library: timm's pretrained cfg
(input size, mean/std, interpolation, crop) and the tokenizer's own settings.
"""

from __future__ import annotations

import difflib
import json
import math
from functools import cache
from pathlib import Path

from tlcore.core.errors import ModelError
from tlcore.core.settings import offline_forced
from tlcore.models import downloads
from tlcore.models.spec import Availability, ModelSpec

TIMM_PREFIX, HF_PREFIX = "timm:", "hf:"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "spiece.model", "vocab.json", "sentencepiece.bpe.model")
NAMED_NOTE = "Chosen by name from {library}; no plain-words card, check its model card for what it is good at."


def is_named(model_id: str) -> bool:
    """Whether `model_id` names a library model (`timm:…`, `hf:…`) rather than a registry id."""
    return model_id.startswith((TIMM_PREFIX, HF_PREFIX))


def named_modality(model_id: str) -> str:
    """What a `timm:`/`hf:` model reads, from its prefix alone: timm models are vision models, and the Hugging Face
    models this app takes are text encoders (`_hf_spec`). Knowing it needs no import of the library."""
    return "image" if model_id.startswith(TIMM_PREFIX) else "text"


def named_spec(model_id: str) -> ModelSpec:
    """The spec of a `timm:`/`hf:` id; ModelError in one line if the name is not a model of that library."""
    if model_id.startswith(TIMM_PREFIX):
        return _timm_spec(model_id.removeprefix(TIMM_PREFIX).strip())
    return _hf_spec(model_id.removeprefix(HF_PREFIX).strip())


# ---------------------------------------------------------------- timm

@cache
def _timm_spec(name: str) -> ModelSpec:
    import timm
    from timm.models import get_pretrained_cfg

    if not name or not timm.is_model(name):
        raise ModelError(f"Unknown timm model {name[:80]!r}{_close_names(name)}")
    cfg = get_pretrained_cfg(name)
    if cfg is None or not cfg.hf_hub_id:
        raise ModelError(f"timm model {name!r} has no pretrained weights on the Hugging Face hub; pick a name "
                         "with a pretrained tag (see `timm.list_models(pretrained=True)`).")
    full = f"{cfg.architecture}.{cfg.tag}" if cfg.tag else cfg.architecture
    return ModelSpec(
        f"{TIMM_PREFIX}{full}", full, "image", "timm", full, _timm_params_m(full), cfg.license or "see model card",
        f"timm {full} (Hugging Face hub: {cfg.hf_hub_id})", NAMED_NOTE.format(library="timm"),
        input_size=int(cfg.input_size[-1]), mean=tuple(cfg.mean), std=tuple(cfg.std),
        interpolation=cfg.interpolation or "bicubic", crop_pct=float(cfg.crop_pct),
        extra={"hf_hub_id": cfg.hf_hub_id, "fixed_input_size": bool(cfg.fixed_input_size)})


def _close_names(name: str) -> str:
    import timm

    close = difflib.get_close_matches(name, timm.list_models(pretrained=True), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else " (see `timm.list_models(pretrained=True)`)."


def _timm_params_m(name: str) -> float:
    """Backbone parameters in millions, counted on the meta device (no memory, no weights)."""
    import timm
    import torch

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False, num_classes=0)
    return round(sum(p.numel() for p in model.parameters()) / 1e6, 2)


def search_timm(pattern: str, limit: int = 20) -> list[str]:
    """timm names with pretrained weights that contain `pattern` (wildcards allowed), cached ones first."""
    import timm

    text = pattern.strip()
    if not text:
        return []
    names = timm.list_models(text if "*" in text else f"*{text}*", pretrained=True)
    return sorted(names, key=lambda n: not timm_cached(n))[:limit]


def timm_cached(name: str) -> bool:
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    return bool(cfg and cfg.hf_hub_id and downloads.hf_cached_file(cfg.hf_hub_id, WEIGHT_FILES))


# ---------------------------------------------------------------- Hugging Face text encoders

def hub_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of `repo_id` in the Hugging Face hub cache (config and weights), or None."""
    if not downloads.hf_cached(repo_id, ("config.json",), any_of=WEIGHT_FILES):
        return None
    from huggingface_hub import try_to_load_from_cache

    return Path(try_to_load_from_cache(repo_id, "config.json")).parent


def _hf_spec(repo_id: str) -> ModelSpec:
    if not _valid_repo_id(repo_id):
        raise ModelError(f"{repo_id[:80]!r} is not a Hugging Face model id (like 'distilbert-base-uncased' or "
                         "'org/name').")
    folder = hub_snapshot(repo_id)
    config = json.loads((folder / "config.json").read_text()) if folder else {}
    hidden = config.get("hidden_size") or config.get("dim") or config.get("d_model")
    if folder and not hidden:
        raise ModelError(f"hf:{repo_id} is not a text encoder (its config.json has no hidden size).")
    lora_targets = _lora_targets(config.get("model_type", ""))
    return ModelSpec(
        f"{HF_PREFIX}{repo_id}", repo_id, "text", "hf", repo_id, _hf_params_m(folder), "see model card",
        f"Hugging Face hub ({repo_id})", NAMED_NOTE.format(library="the Hugging Face hub"),
        max_length=min(128, int(config.get("max_position_embeddings") or 128)), supports_lora=bool(lora_targets),
        extra={"named": True, "model_type": config.get("model_type", ""), "lora_targets": lora_targets})


def _lora_targets(model_type: str) -> tuple[str, ...]:
    """The attention projections peft puts LoRA adapters on for this architecture (peft's own table)."""
    if not model_type:
        return ()
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as TARGETS

    return tuple(TARGETS.get(model_type, ()))


def _hf_params_m(folder: Path | None) -> float:
    """Parameters in millions from the safetensors header (no tensor is read); 0 when unknown."""
    if folder is None or not (folder / "model.safetensors").is_file():
        return 0.0
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        total = sum(math.prod(f.get_slice(key).get_shape()) for key in f.keys())  # noqa: SIM118 (not iterable)
    return round(total / 1e6, 2)


def search_hf_cache(pattern: str, limit: int = 20) -> list[str]:
    """Repo ids in the local Hugging Face hub cache with a config and weights whose id contains `pattern`
    (timm's own repos aside: those are image models, reached as `timm:` names)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        repos = scan_cache_dir().repos
    except CacheNotFound:
        return []
    ids = sorted(r.repo_id for r in repos if r.repo_type == "model" and not r.repo_id.startswith("timm/"))
    text = pattern.strip().lower()
    return [i for i in ids if text in i.lower() and hub_snapshot(i) is not None][:limit]


def hf_tokenizer_cached(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TOKENIZER_FILES)


# ---------------------------------------------------------------- availability

def named_availability(spec: ModelSpec) -> Availability:
    """From the local caches only; offline, a model that is not there says so (and how to get it)."""
    if spec.family == "timm":
        hub_id = spec.extra["hf_hub_id"]
        if downloads.hf_cached_file(hub_id, WEIGHT_FILES):
            return Availability(True, f"found in the local Hugging Face hub cache ({hub_id})")
    else:
        folder = hub_snapshot(spec.arch)
        if folder is not None and hf_tokenizer_cached(folder):
            return Availability(True, "found in the local Hugging Face hub cache")
        hub_id = spec.arch
    if offline_forced():
        return Availability(False, f"not in the local cache ({hub_id} is not in the Hugging Face hub cache) and "
                                   "offline mode is on, so it cannot be downloaded; download it once with "
                                   "internet access (or copy the cache folder here)")
    if downloads.network_available(*downloads.url_host(downloads.hf_endpoint())):
        return Availability(True, f"will download {hub_id} from the Hugging Face hub on first use")
    return Availability(False, f"not in the local cache ({hub_id}) and the Hugging Face hub cannot be reached")


def search(pattern: str, modality: str, limit: int = 12) -> list[str]:
    """Model ids for a search box: `timm:` names for images (cached first), cached hub encoders for text, and
    the typed id itself when it is a valid hub id that is not cached (so its availability can say why)."""
    text = pattern.strip().removeprefix(TIMM_PREFIX).removeprefix(HF_PREFIX)
    if not text:
        return []
    if modality == "image":
        return [f"{TIMM_PREFIX}{n}" for n in search_timm(text, limit)]
    found = [f"{HF_PREFIX}{i}" for i in search_hf_cache(text, limit)]
    typed = f"{HF_PREFIX}{text}"
    looks_like_an_id = "/" in text or not found  # "mini" with cached matches is a search, not an id
    return [*found, typed][:limit] if looks_like_an_id and typed not in found and _valid_repo_id(text) else found


def _valid_repo_id(text: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True
