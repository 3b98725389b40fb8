"""Per-run artifacts: config, label map, weights (safetensors), history, evaluation and predictions.

A run's folder appears complete or not at all: everything is written into a temporary folder beside it
and renamed into place in one step, so a crash or a full disk never leaves half a run behind.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from tlcore import __version__
from tlcore.core.errors import UserError
from tlcore.core.jsonutil import json_safe
from tlcore.runs.paths import WEIGHTS, read_json, run_dir
from tlcore.train.results import RunOutput

if TYPE_CHECKING:  # torch is imported only to save or load a PyTorch model: a probe on an exported body has none
    import torch

    from tlcore.models import TransferModel

log = logging.getLogger("tlcore.runs")


def environment(device: str) -> dict[str, str]:
    """What the run was made with. Versions come from the installed packages' metadata: importing timm and
    transformers to read `__version__` cost an image run 1–4 s of a worker's first run (and torch, a probe that
    needed none, 2-4 s)."""
    return {"tlcore": __version__, "python": platform.python_version(), "torch": _installed_version("torch"),
            "timm": _installed_version("timm"), "transformers": _installed_version("transformers"),
            "device": _gpu_name() if device == "cuda" else f"CPU ({platform.machine()})"}


def _gpu_name() -> str:
    import torch  # a run on the GPU has imported it already

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.machine()})"


def _installed_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def write_artifacts(run_id: str, out: RunOutput) -> Path:
    prep = out.prepared
    final = run_dir(run_id)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=final.parent))
    except OSError as exc:
        raise _unwritable(final.parent, exc) from exc
    try:
        if out.model is not None:  # the nearest-neighbour baseline trains nothing and saves no weights
            from tlcore.models import merge_lora

            model = merge_lora(out.model) if prep.config.strategy == "lora" else out.model
            _save_weights(lambda path: _save_model(model.cpu(), path), tmp / WEIGHTS)
        elif out.weights is not None:  # a probe that built no PyTorch model: the same file, from arrays
            _save_weights(out.weights, tmp / WEIGHTS)
        _write_json(tmp / "config.json", {
            "run_id": run_id, "config": prep.config.to_dict(), "resolved": prep.resolved.to_dict(),
            "model": {"id": prep.spec.id, "modality": prep.spec.modality, "input_size": prep.resolved.image_size,
                      "mean": prep.spec.mean, "std": prep.spec.std, "interpolation": prep.spec.interpolation,
                      "crop_pct": prep.spec.crop_pct, "max_length": prep.resolved.max_length},
            "data": {"fingerprint": prep.dataset.fingerprint, "name": prep.dataset.name, "size": len(prep.dataset)},
            "split": prep.split.to_dict(), "train_indices": prep.train_idx.tolist(),
            "summary": out.summary, "environment": environment(prep.resolved.device)})
        _write_json(tmp / "labels.json", prep.dataset.classes)
        _write_json(tmp / "history.json", out.history)
        _write_json(tmp / "evaluation.json", out.evaluation.to_dict())
        _write_json(tmp / "predictions.json", out.predictions)
        _flush(tmp)
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _unwritable(final.parent, exc) from exc
        raise
    return final


def _save_model(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_model

    save_model(model, str(path))


def _save_weights(write: Callable[[Path], None], path: Path) -> None:
    """safetensors reports a failed write (disk full, file too large) as a SafetensorError naming the OS
    error; turn it back into that OSError so it is handled like every other failed write."""
    try:
        write(path)
    except SafetensorError as exc:
        code = re.search(r"os error (\d+)", str(exc))
        if code is None:
            raise
        raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from exc


def _flush(folder: Path) -> None:
    """fsync every file before the rename: with delayed allocation a full disk may only show up here,
    and a power cut must not leave a complete-looking folder of empty files."""
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _unwritable(folder: Path, exc: OSError) -> UserError:
    """The message people see names no server path (it can reach a shared page); the log has the folder."""
    log.error("could not save a run into %s: %s", folder, exc)
    return UserError(f"The server's disk is full (or not writable) while saving the model: free space for the "
                     f"data directory and start the run again ({exc.strerror or type(exc).__name__}).")


def load_run_model(run_id: str) -> tuple[TransferModel, dict[str, Any]]:
    """The trained model of a finished run (on the CPU, eval mode) and its config.json."""
    from safetensors.torch import load_model

    from tlcore.models import create, get_spec

    meta = read_json(run_id, "config.json")
    classes = read_json(run_id, "labels.json")
    model = create(get_spec(meta["model"]["id"]), len(classes), "scratch")
    load_model(model, str(run_dir(run_id) / WEIGHTS))
    return model.eval(), meta


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(json_safe(value), indent=1))
