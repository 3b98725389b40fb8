"""Where a trained image model looks: class-activation maps (Grad-CAM, from captum) on the last convolution
block of each run's own body, drawn over the test image exactly as the model saw it.

The map explains the class *margin* z_c − logsumexp_{j≠c} z_j rather than the raw logit: a binary linear probe
keeps class 0's row at zero, so its raw logit is constant and every map of class 0 would be blank, and
log-probabilities saturate as a model grows sure. Gradients flow only from the output back to that block, so
one map costs about one forward pass.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tlcore.core.errors import UserError
from tlcore.data import Dataset
from tlcore.experiments.predict import Predictor
from tlcore.runs.paths import read_artifact

HEAT_RGB = np.array([255, 40, 0], dtype=np.float32)  # the colour of "looked here"
HEAT_OPACITY = 0.6


def class_margin(logits: torch.Tensor) -> torch.Tensor:
    """For every class c: z_c − logsumexp over the other classes (the log-odds of c against the rest)."""
    n = logits.shape[-1]
    others = logits.unsqueeze(-2).expand(*logits.shape[:-1], n, n)
    own = torch.eye(n, dtype=torch.bool, device=logits.device)
    return logits - torch.logsumexp(others.masked_fill(own, float("-inf")), dim=-1)


def last_conv_block(body: nn.Module) -> nn.Module:
    """The block whose output the map is made from: torchvision MobileNet's last `features` block, timm's
    EfficientNet/MobileNet head (`bn2`), ResNet's `layer4`, or the last stage of timm's staged networks."""
    features = getattr(body, "features", None)
    if isinstance(features, nn.Sequential):
        return features[-1]
    for name in ("bn2", "layer4"):
        if isinstance(getattr(body, name, None), nn.Module):
            return getattr(body, name)
    stages = getattr(body, "stages", None)
    if isinstance(stages, nn.Sequential):
        return stages[-1]
    raise UserError(f"Maps of where the model looks need a convolutional network; {type(body).__name__} is not one "
                    "this version knows.")


def class_activation_maps(model: nn.Module, x: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """[B, H, W] maps in [0, 1] (each divided by its own maximum) of `targets` for the normalised images `x`."""
    from captum.attr import LayerAttribution, LayerGradCam

    model.eval()
    cam = LayerGradCam(lambda inputs: class_margin(model(inputs)), last_conv_block(model.body))
    maps = cam.attribute(x, target=list(targets), relu_attributions=True)
    maps = LayerAttribution.interpolate(maps, tuple(x.shape[-2:]), interpolate_mode="bilinear")[:, 0].clamp_min(0)
    return (maps / maps.flatten(1).max(1).values.clamp_min(1e-12)[:, None, None]).detach()


def overlay(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The uint8 image [H, W, 3] with `heat` [H, W] in [0, 1] painted over it."""
    weight = (HEAT_OPACITY * heat)[..., None]
    return (image.astype(np.float32) * (1 - weight) + HEAT_RGB * weight).clip(0, 255).astype(np.uint8)


def model_view(predictor: Predictor, items: list) -> tuple[torch.Tensor, np.ndarray]:
    """(normalised batch the model takes, the same images as uint8 [B, H, W, 3] as it sees them: resized and
    cropped like the test set)."""
    x = predictor.image_tensor(items)
    meta = predictor.meta["model"]
    mean, std = (torch.tensor(meta[k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    return x, ((x * std + mean).clamp(0, 1) * 255).permute(0, 2, 3, 1).numpy().astype(np.uint8)


def looked_at(run_id: str, ds: Dataset, indices: list[int], classes: list[str]) -> list[np.ndarray]:
    """For the dataset items `indices`: the image as the run's model saw it, with its map of the class named in
    `classes` (one per item, e.g. the true class) painted over it."""
    if not indices:
        return []
    predictor = run_to_explain(run_id, "image", classes, "Maps of where the model looks")
    x, seen = model_view(predictor, [ds.items[i] for i in indices])
    heat = class_activation_maps(predictor.model, x, [predictor.classes.index(c) for c in classes]).numpy()
    return [overlay(image, h) for image, h in zip(seen, heat)]


def run_to_explain(run_id: str, modality: str, classes: list[str], what: str) -> Predictor:
    """The run's trained model, once it is known to be of `modality` and to have every class in `classes`."""
    predictor = Predictor(run_id)
    if predictor.modality != modality:
        raise UserError(f"{what} are drawn for {modality}s only.")
    unknown = sorted(set(classes) - set(predictor.classes))
    if unknown:
        raise UserError(f"Run {run_id} has no class {unknown[0]!r}.")
    return predictor


def items_to_explain(scratch_run: str, transfer_run: str, limit: int = 4) -> list[dict]:
    """Test items of two runs of the same seed: first those transfer got right and scratch wrong, then any
    others; each with its dataset index, true class and both answers."""
    scratch = {p["index"]: p for p in read_artifact(scratch_run, "predictions.json") or []}
    transfer = {p["index"]: p for p in read_artifact(transfer_run, "predictions.json") or []}
    both = [{"index": i, "name": p["name"], "true": p["true"], "scratch": scratch[i]["pred"], "transfer": p["pred"]}
            for i, p in sorted(transfer.items()) if i in scratch]
    won = [r for r in both if r["transfer"] == r["true"] != r["scratch"]]
    return (won + [r for r in both if r not in won])[:limit]
