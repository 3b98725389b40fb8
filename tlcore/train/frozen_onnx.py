"""The frozen image body on ONNX Runtime: the same features as PyTorch's eager forward, ~3x more per CPU-second.

Measured on this project's 2-core CPU (`python -m bench --cases roofline`, docs/performance.md): MobileNetV2's
frozen pass 9.3 → 26.4 images/s (14 → 47 per CPU-second), EfficientNet-Lite0/1 2.2-2.3x. Text bodies stay on
PyTorch: MiniLM was slower on ONNX Runtime (measured for issue 14: 22 vs 14 texts per CPU-second).

The body is exported once per machine (legacy TorchScript exporter, opset 17, dynamic batch axis) to
`<TLAB_EXPORT_CACHE_DIR>/onnx/<key>.onnx`, the key naming the model, a digest of the body's weights and the
input size, so scratch or fine-tuned weights never reuse a pretrained export. The export (2-3 s for
MobileNetV2 on 2 cores, most of it importing `onnx`) thus leaves every later cold run, in any data directory.
A fresh export is used only once it agrees with PyTorch on two items of the first batch. Whenever this path
cannot be used, `onnx_forward` says why (logged once per process and reason) and returns None: the caller
keeps the eager body.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from tlcore.core import diskcache, settings
from tlcore.models.spec import ModelSpec
from tlcore.train.device import thread_budget
from tlcore.train.onnx_body import (
    BACKEND_ENV,
    ONNX_VERSION,
    OPSET,
    publish_pretrained_export,
    session,
    torch_backend_forced,
)

log = logging.getLogger(__name__)

AGREEMENT = 1e-3  # max |ort - torch| / max |torch| accepted for a fresh export

Forward = Callable[..., torch.Tensor]  # body(*inputs) → features [B, D] on the CPU
_said: set[str] = set()


def log_once(message: str, level: int = logging.INFO) -> None:
    """Each reason for leaving ONNX Runtime is logged once per process, not once per run or batch."""
    if message not in _said:
        _said.add(message)
        log.log(level, message)


def torch_reason(device: torch.device, amp_bf16: bool) -> str | None:
    """Why the eager PyTorch body must be used, or None when ONNX Runtime may run it."""
    if torch_backend_forced():
        return f"{BACKEND_ENV}=torch"
    if device.type != "cpu":
        return f"the body runs on {device.type}, where PyTorch is kept"
    if amp_bf16:
        return "bf16 autocast is on"
    return None


def weights_digest(body: torch.nn.Module) -> str:
    """sha256 of the body's parameter and buffer names and values (MobileNetV2: ~14 MB, tens of ms)."""
    digest = hashlib.sha256()
    for name, tensor in body.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def onnx_cache_path(model_id: str, weights: str, image_size: int) -> Path:
    key = hashlib.sha256(f"v{ONNX_VERSION}|{model_id}|{weights}|{image_size}|opset{OPSET}|torch={torch.__version__}"
                         .encode()).hexdigest()[:20]
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)[:60]
    return settings.export_cache_dir() / "onnx" / f"{safe_id}-{image_size}-{key}.onnx"


def export_onnx(body: torch.nn.Module, example: torch.Tensor) -> bytes:
    """The body as an ONNX graph with a dynamic batch axis (input "x" [B,3,S,S] float, output "features")."""
    buffer = io.BytesIO()
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(body, (example.clone().contiguous(),), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["x"], output_names=["features"],
                          dynamic_axes={"x": {0: "batch"}, "features": {0: "batch"}})
    return buffer.getvalue()


def _runner(sess) -> Forward:
    def forward(x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().cpu().float().numpy())
        return torch.from_numpy(sess.run(None, {"x": array})[0])
    return forward


def onnx_forward(body: torch.nn.Module, example: torch.Tensor, model_id: str | None = None,
                 pretrained: ModelSpec | None = None) -> Forward | None:
    """A function computing `body(x)` on ONNX Runtime for images shaped like `example`, or None (logged why).
    `pretrained`: the body is this bundled model's pretrained body, untouched; its export is then recorded in the
    machine's index (`onnx_body.publish_pretrained_export`), for runs that need no PyTorch model."""
    model_id = model_id or type(body).__name__
    try:
        size = int(example.shape[-1])
        path = onnx_cache_path(model_id, weights_digest(body), size)
        threads = thread_budget()
        forward = None
        if path.exists():
            try:
                forward = _runner(session(path, threads))
                diskcache.touch(path)
            except Exception as exc:  # a damaged file: export again
                log.warning("re-exporting unreadable ONNX cache %s: %s", path, exc)
                path.unlink(missing_ok=True)
        forward = forward or _fresh(body, example, path, threads)
        if pretrained is not None and path.exists():
            publish_pretrained_export(pretrained, size, path, lambda tmp: save_body(body, tmp))
        return forward
    except Exception as exc:  # exporter or runtime limitation: the eager body always works
        log_once(f"frozen {model_id} runs on PyTorch: ONNX Runtime unavailable "
                 f"({type(exc).__name__}: {str(exc)[:300]})", logging.WARNING)
        return None


def save_body(body: torch.nn.Module, path: str) -> None:
    """The body's weights as safetensors under the names a `TransferModel`'s state dict gives them."""
    from safetensors.torch import save_file

    save_file({f"body.{name}": t.detach().cpu().contiguous() for name, t in body.state_dict().items()}, path)


def _fresh(body: torch.nn.Module, example: torch.Tensor, path: Path, threads: int) -> Forward:
    """Export, check against PyTorch on two items, then keep the graph in the cache."""
    graph = export_onnx(body, example[:2])
    forward = _runner(session(graph, threads))
    with torch.inference_mode():
        want = body(example[:2]).float()
    error = float((forward(example[:2]) - want).abs().max() / want.abs().max().clamp_min(1e-12))
    if not error <= AGREEMENT:
        raise RuntimeError(f"the export disagrees with PyTorch (relative error {error:.1e})")
    diskcache.store(path, lambda tmp: Path(tmp).write_bytes(graph), root=settings.export_cache_dir())
    return forward
