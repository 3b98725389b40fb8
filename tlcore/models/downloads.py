"""The libraries' standard downloads and their caches: torch hub checkpoints (what torchvision's weights API
fetches) and the Hugging Face hub. Looking into a cache never touches the network; network probes never hang.

Hosts behind a firewall: `TLAB_WEIGHTS_MIRROR` (a URL serving the same file names) replaces download.pytorch.org
for torch hub checkpoints, and the Hugging Face hub honours its own `HF_ENDPOINT`. `TORCH_HOME` and `HF_HOME`
move the caches. Every file fetched for a pinned sha256 is checked before use; one that fails is removed from
the cache, so the next try downloads it again instead of failing forever.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tlcore.core.errors import ModelError
from tlcore.core.settings import offline_forced, weights_mirror
from tlcore.models.checksum import verify_sha256

OFFLINE_HINT = "TLAB_OFFLINE (or HF_HUB_OFFLINE) is set"


@dataclass(frozen=True)
class TorchvisionWeights:
    """A torchvision weights entry such as "MobileNet_V2_Weights.IMAGENET1K_V1": its checkpoint, downloaded into
    the torch hub cache exactly as `builder(weights=...)` would."""

    name: str
    size_mb: int
    cache_name = "torch hub cache"
    mirror_setting = "TLAB_WEIGHTS_MIRROR"

    @property
    def url(self) -> str:
        import torchvision

        return torchvision.models.get_weight(self.name).url

    def where(self) -> str:
        return f"{self.cache_name} ({torch_hub_path(self.url).parent})"

    def probe_target(self) -> tuple[str, int]:
        return url_host(mirrored(self.url))


@dataclass(frozen=True)
class HubRepo:
    """Files of a Hugging Face hub repository at a pinned commit; `folder` is the bundle's folder holding them."""

    repo_id: str
    revision: str  # a commit id, so the files behind the pin cannot change
    folder: str
    size_mb: int
    cache_name = "Hugging Face hub cache"
    mirror_setting = "HF_ENDPOINT"

    def where(self) -> str:
        from huggingface_hub import constants

        return f"{self.cache_name} ({constants.HF_HUB_CACHE})"

    def probe_target(self) -> tuple[str, int]:
        return url_host(hf_endpoint())

    def hub_name(self, relpath: str) -> str:
        return relpath.removeprefix(f"{self.folder}/")


# ---------------------------------------------------------------- torch hub checkpoints

def mirrored(url: str) -> str:
    """`url`, or the same file name on `TLAB_WEIGHTS_MIRROR` when one is set."""
    mirror = weights_mirror()
    return f"{mirror}/{os.path.basename(url)}" if mirror else url


def torch_hub_path(url: str) -> Path:
    """Where torch hub (and so torchvision's weights API) keeps the checkpoint of `url`."""
    return torch_hub_dir() / "checkpoints" / os.path.basename(url)


def torch_hub_dir() -> Path:
    """`torch.hub.get_dir()`, found as torch finds it where torch is not imported yet (the web server checks
    availability without it): `$TORCH_HOME/hub`, by default `$XDG_CACHE_HOME/torch/hub` or ~/.cache/torch/hub."""
    torch = sys.modules.get("torch")
    if torch is not None:  # honours torch.hub.set_dir
        return Path(torch.hub.get_dir())
    cache_home = os.getenv("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return Path(os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(cache_home, "torch")))) / "hub"


def torch_hub_cached(url: str) -> Path | None:
    """The torch hub checkpoint for `url` if it is already downloaded (torchvision's `weights=` cache)."""
    path = torch_hub_path(url)
    return path if path.is_file() else None


def fetch_torch_checkpoint(url: str, sha256: str | None = None) -> Path:
    """The checkpoint of `url` in the torch hub cache, downloaded first if needed (from the mirror if set).

    With `sha256`, the download and any cached copy must match it in full; without, torch hub's own check applies
    (the hex digits in the file name, as in `load_state_dict_from_url(check_hash=True)`).
    """
    path = torch_hub_path(url)
    expected = sha256 or _name_hash(url)
    if not path.is_file():
        source = mirrored(url)
        if offline_forced():
            raise ModelError(f"{os.path.basename(url)} is not in the torch hub cache ({path.parent}) and cannot be "
                             f"downloaded: {OFFLINE_HINT}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        import torch

        try:  # writes a temporary file and moves it into place only if the hash matches
            torch.hub.download_url_to_file(source, str(path), hash_prefix=expected, progress=False)
        except Exception as exc:  # HTTP errors, refused connections, hash mismatch
            raise ModelError(f"Could not download {source}: {exc}. Check the connection, or set "
                             "TLAB_WEIGHTS_MIRROR to a server that has the same file.") from exc
    if expected:
        verified_or_removed(path, expected, "torch hub cache")
    return path


# torch.hub.HASH_REGEX: the hex digits after the last "-" of a checkpoint's file name
HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")


def _name_hash(url: str) -> str | None:
    found = HASH_IN_NAME.search(os.path.basename(url))
    return found.group(1) if found else None


def verified_or_removed(path: Path, sha256: str, cache_name: str) -> None:
    """Check a cached download; a copy that fails is removed (with the blob a hub snapshot link points at)."""
    try:
        verify_sha256(path, sha256, fix=f"It was removed from the {cache_name}; the next use downloads it again.")
    except ModelError:
        target = path.resolve() if path.is_symlink() else None
        path.unlink(missing_ok=True)
        if target is not None:
            target.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- Hugging Face hub

def hf_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def hub_cached(repo: HubRepo, name: str) -> Path | None:
    """A file of `repo` at its pinned revision if it is in the HF hub cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo.repo_id, name, revision=repo.revision)
    return Path(found) if isinstance(found, str) else None


def fetch_hub_file(repo: HubRepo, name: str, sha256: str) -> Path:
    """`name` of `repo` at its pinned revision in the HF hub cache (downloaded first if needed), sha256 checked."""
    path = hub_cached(repo, name)
    if path is None:
        if offline_forced():
            raise ModelError(f"{repo.repo_id}/{name} is not in the Hugging Face hub cache and cannot be downloaded: "
                             f"{OFFLINE_HINT}.")
        from huggingface_hub import hf_hub_download

        try:
            path = Path(hf_hub_download(repo.repo_id, name, revision=repo.revision))
        except Exception as exc:
            raise ModelError(f"Could not download {repo.repo_id}/{name} from {hf_endpoint()}: {exc}. Check the "
                             "connection, or set HF_ENDPOINT to a Hugging Face mirror.") from exc
    verified_or_removed(path, sha256, "Hugging Face hub cache")
    return path


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


# ---------------------------------------------------------------- network

def url_host(url: str) -> tuple[str, int]:
    """(host, port) that a download from `url` connects to."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def prefer_local_files() -> bool:
    """Whether hub loaders should skip the network (forced offline, or the hub cannot be reached right now)."""
    return offline_forced() or not network_available(*url_host(hf_endpoint()))


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


def clear_network_cache() -> None:
    with _NET_LOCK:
        _NET_CACHE.clear()
