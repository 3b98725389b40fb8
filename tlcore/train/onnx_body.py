"""The frozen image body on ONNX Runtime, the parts that need no torch: the runtime session, and the machine's
index of exported *pretrained* bodies of bundled models.

The index lets a run find the export of a bundled model's pretrained body from the model's registry entry alone
(its id, and the pinned sha256 of its weight file), before any PyTorch model is built: `frozen_onnx` keys each
export by a digest of the body's weights, which needs the body in memory. With the export, the index names the
pretrained body's weights saved as safetensors under the model's own key names ("body.…"), so a linear probe can
save the same weight file a PyTorch run would without building the model (`tlcore.train.frozen_run`). Entries are
written by the PyTorch path the first time it runs a bundled model's pretrained body on ONNX Runtime; any file of
an entry may be evicted from the export cache later, and then the entry is simply not found.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tlcore.core import diskcache, settings
from tlcore.models.spec import ModelSpec

log = logging.getLogger(__name__)

BACKEND_ENV = "TLAB_FEATURE_BACKEND"  # "torch" forces the eager PyTorch body
ONNX_VERSION = 1  # bump when the exported graph changes, so old exports are never reused
OPSET = 17
INDEX_VERSION = 1  # bump when what an index entry points to changes
LIBRARIES = ("torch", "torchvision", "timm")  # read from their package metadata: importing them is what we avoid


def torch_backend_forced() -> bool:
    """`TLAB_FEATURE_BACKEND=torch`: frozen passes run on the eager PyTorch body, never on ONNX Runtime."""
    return os.environ.get(BACKEND_ENV, "").strip().lower() == "torch"


def session(model: bytes | Path, threads: int):
    """An ONNX Runtime CPU session using `threads` intra-op threads that sleep, not spin, when idle
    (the cores are shared with other runs and the app)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class PretrainedExport:
    onnx: Path  # the pretrained body as an ONNX graph (input "x" [B,3,S,S] float, output "features" [B,D])
    body: Path  # the pretrained body's weights, safetensors, keys as in the model's state dict ("body.…")


def pretrained_identity(spec: ModelSpec) -> str | None:
    """The pinned sha256 of a bundled model's weight file, or None: a model from a hub has no pinned file."""
    from tlcore.models.weights import BUNDLES

    bundle, relpath = BUNDLES.get(spec.offline_package or ""), spec.extra.get("weights_file")
    return bundle.files.get(relpath) if bundle is not None and relpath else None


def _index_path(spec: ModelSpec, image_size: int) -> Path | None:
    identity = pretrained_identity(spec)
    if identity is None:
        return None
    try:  # the exporter's and the model libraries' versions decide the graph and the weights' names
        versions = "|".join(f"{name}={importlib.metadata.version(name)}" for name in LIBRARIES)
    except importlib.metadata.PackageNotFoundError:
        return None
    key = hashlib.sha256(f"v{INDEX_VERSION}|onnx{ONNX_VERSION}|opset{OPSET}|{spec.id}|{spec.family}|{spec.arch}|"
                         f"{identity}|{image_size}|{versions}".encode()).hexdigest()[:20]
    return _index_folder() / f"{_safe(spec.id)}-{image_size}-{key}.json"


def _index_folder() -> Path:
    return settings.export_cache_dir() / "pretrained"


def _safe(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)[:60]


def has_pretrained_exports(spec: ModelSpec) -> bool:
    """Whether this machine has indexed an export of `spec`'s pretrained body at any size (a cheap guess, for a
    command deciding what its worker imports before the run's size is known)."""
    return pretrained_identity(spec) is not None and any(_index_folder().glob(f"{_safe(spec.id)}-*.json"))


def find_pretrained_export(spec: ModelSpec, image_size: int) -> PretrainedExport | None:
    """The machine's export of `spec`'s pretrained body at `image_size`, if one was made and all of it is there."""
    path = _index_path(spec, image_size)
    if path is None or not path.exists():
        return None
    try:
        entry = json.loads(path.read_text())
        found = PretrainedExport(path.parent / entry["onnx"], path.parent / entry["body"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable export index %s: %s", path, exc)
        return None
    if not (found.onnx.exists() and found.body.exists()):
        return None
    for used in (path, found.onnx, found.body):
        diskcache.touch(used)
    return found


def publish_pretrained_export(spec: ModelSpec, image_size: int, onnx: Path,
                              write_body: Callable[[str], None]) -> None:
    """Record `onnx` as the export of `spec`'s pretrained body at `image_size`, with the body's weights written by
    `write_body(path)` next to it; once per machine (nothing is written when a complete entry is there)."""
    path = _index_path(spec, image_size)
    if path is None or find_pretrained_export(spec, image_size) is not None:
        return
    root = settings.export_cache_dir()
    body = path.with_suffix(".safetensors")
    diskcache.store(body, write_body, root=root)
    if body.exists():
        entry = {"onnx": os.path.relpath(onnx, path.parent), "body": body.name}
        diskcache.store(path, lambda tmp: Path(tmp).write_text(json.dumps(entry)), root=root)
