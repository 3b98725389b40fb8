"""Use a finished run: top-k predictions for new images or texts, and export of the trained model.

Preprocessing is rebuilt from the run's saved config (size, crop, mean/std, max length), so prediction
sees inputs exactly as the test set did.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tlcore.core.errors import UserError
from tlcore.data import load_image
from tlcore.data.images import eval_transform, to_rgb
from tlcore.experiments.exports import export_huggingface, export_timm
from tlcore.models import TextEncoder, get_spec, text_encoder_for
from tlcore.runs.artifacts import load_run_model
from tlcore.runs.paths import WEIGHTS, has_weights, read_json, run_dir

EXPORT_FORMATS = ("safetensors", "onnx", "huggingface", "timm")  # the last two write a folder


class Predictor:
    """Loads a run's model once; `predict` takes image paths (or PIL images) or texts."""

    def __init__(self, run_id: str) -> None:
        if not has_weights(run_id):
            try:
                strategy = read_json(run_id, "config.json")["config"]["strategy"]
            except (OSError, ValueError, KeyError):
                strategy = None
            if strategy == "knn":
                raise UserError(f"Run {run_id} is the nearest-neighbour baseline: it trains no model to use or "
                                "export; pick a run of another strategy.")
            raise UserError(f"Run {run_id} has no trained model (it did not finish, or was deleted).")
        self.run_id = run_id
        self.model, self.meta = load_run_model(run_id)
        self.classes: list[str] = read_json(run_id, "labels.json")
        self.spec = get_spec(self.meta["model"]["id"])
        self.modality = self.spec.modality

    def image_tensor(self, images: list[Any]) -> torch.Tensor:
        m = self.meta["model"]
        batch = []
        for image in images:
            pil = image if hasattr(image, "convert") else load_image(Path(image))
            pil = eval_transform(to_rgb(pil), m["input_size"], m["crop_pct"], m["interpolation"])
            batch.append(torch.from_numpy(np.asarray(pil, dtype=np.uint8).copy()).permute(2, 0, 1))
        x = torch.stack(batch).float() / 255
        mean = torch.tensor(m["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(m["std"]).view(1, 3, 1, 1)
        return (x - mean) / std

    def text_encoder(self) -> TextEncoder:
        return text_encoder_for(dataclasses.replace(self.spec, max_length=self.meta["model"]["max_length"]))

    def encode_texts(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = self.text_encoder()(texts)
        return encoded["input_ids"], encoded["attention_mask"]

    @torch.inference_mode()
    def predict(self, inputs: list[Any], top: int = 5) -> list[list[tuple[str, float]]]:
        if not inputs:
            return []
        if self.modality == "image":
            logits = self.model(self.image_tensor(inputs))
        else:
            logits = self.model(*self.encode_texts([str(t) for t in inputs]))
        probs = logits.float().softmax(dim=1).numpy()
        k = min(top, len(self.classes))
        order = np.argsort(-probs, axis=1)[:, :k]
        return [[(self.classes[c], float(p[c])) for c in row] for p, row in zip(probs, order)]

    def example_inputs(self) -> tuple[torch.Tensor, ...]:
        if self.modality == "image":
            size = self.meta["model"]["input_size"]
            return (torch.zeros(1, 3, size, size),)
        return self.encode_texts(["an example sentence for export"])


def export_run(run_id: str, fmt: str, out: Path) -> Path:
    """Write the trained model as safetensors (weights + labels + config beside it), ONNX (labels and
    preprocessing in its metadata), or a folder that transformers or timm load (`tlcore.experiments.exports`)."""
    if fmt not in EXPORT_FORMATS:
        raise UserError(f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}.")
    predictor = Predictor(run_id)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "safetensors":
        shutil.copyfile(run_dir(run_id) / WEIGHTS, out)
        for name in ("labels.json", "config.json"):
            shutil.copyfile(run_dir(run_id) / name, out.with_name(f"{out.stem}.{name}"))
        return out
    if fmt == "huggingface":
        return export_huggingface(predictor, out)
    if fmt == "timm":
        return export_timm(predictor, out)
    return _export_onnx(predictor, out)


def _export_onnx(predictor: Predictor, out: Path) -> Path:
    example = predictor.example_inputs()
    names = ["image"] if predictor.modality == "image" else ["input_ids", "attention_mask"]
    dynamic = {name: {0: "batch"} for name in names}
    if predictor.modality == "text":
        dynamic = {name: {0: "batch", 1: "tokens"} for name in names}
    try:
        torch.onnx.export(predictor.model, example, str(out), input_names=names, output_names=["logits"],
                          dynamic_axes=dynamic, dynamo=False)
    except Exception as exc:  # exporter limitations are reported, not raised as tracebacks
        raise UserError(f"ONNX export of {predictor.spec.id} failed ({type(exc).__name__}: {exc}); "
                        "export as safetensors instead.") from exc
    _add_onnx_metadata(predictor, out)
    return out


def onnx_metadata(predictor: Predictor) -> dict[str, str]:
    """What an ONNX consumer needs besides the graph: class names (by output index) and preprocessing."""
    m = predictor.meta["model"]
    if predictor.modality == "image":
        prep = {k: m[k] for k in ("input_size", "mean", "std", "interpolation", "crop_pct")}
        prep.update(layout="NCHW float32 RGB in [0, 1], then (x - mean) / std", resize="shorter side to "
                    "floor(input_size / crop_pct), centre crop input_size")
    else:
        prep = {"max_length": m["max_length"], "tokenizer": predictor.spec.arch, "padding": "longest"}
    return {"labels": json.dumps(predictor.classes), "preprocessing": json.dumps(prep),
            "model": predictor.spec.id, "run_id": predictor.run_id}


def _add_onnx_metadata(predictor: Predictor, path: Path) -> None:
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, onnx_metadata(predictor))
    onnx.save(proto, str(path))


def export_onnx_bytes(run_id: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = export_run(run_id, "onnx", Path(tmp) / "model.onnx")
        return path.read_bytes()
