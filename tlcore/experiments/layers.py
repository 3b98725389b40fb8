""""Which layers transfer": for one pretrained model, how useful each depth's features are for the data, how
many stages to freeze, and how far the data sits from what the model was pretrained on.

One forward pass over the training items (`tlcore.train.depths`), each depth scored like the ranking scores
models (LogME, leave-one-out k-NN, paired resamples), the freeze rule of `tlcore.core.layer_advice`, and, for
image models, a gauge from the pretrained ImageNet head's confidence on the items.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tlcore.core import layer_advice
from tlcore.core.config import TrainConfig
from tlcore.core.transferability import paired_scores
from tlcore.data import load_source
from tlcore.experiments.ranking import RESAMPLES, Progress, phase_reporter, scored_rows
from tlcore.train.prepare import prepare

FAR_WARNING = ("Your data looks unlike what this model was pretrained on: transfer may not help here. Compare it "
               "with training from scratch, and prefer fine-tuning to a frozen linear probe.")


@dataclass(frozen=True)
class DepthScore:
    depth: str
    dim: int
    logme: float
    logme_sd: float  # over the resamples
    knn_loo: float
    knn_sd: float


@dataclass(frozen=True)
class Gauge:
    msp: float  # mean max-softmax probability of the pretrained 1000-class head
    entropy: float  # mean entropy of that head / log 1000
    level: str  # "near", "moderate" or "far"
    message: str
    warn: bool


@dataclass(frozen=True)
class LayerReport:
    data: str
    model_id: str
    title: str
    n_train: int
    curve: list[DepthScore]  # shallow to deep
    freeze_through: int  # index into `curve`; the last = keep the whole body frozen
    freeze_stages: int  # stages (of the tapped ones) to keep frozen when fine-tuning
    advice: str
    gauge: Gauge | None  # None for text models (no pretrained classification head)
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LayerReport:
        gauge = values.get("gauge")
        return cls(**{**values, "curve": [DepthScore(**c) for c in values["curve"]],
                      "gauge": Gauge(**gauge) if gauge else None})


def layer_report(source: str, model_id: str, options: dict[str, Any] | None = None, *,
                 progress: Progress | None = None) -> LayerReport:
    """The per-depth curve, freeze advice and domain gauge of `model_id` on the training items of `source`."""
    import torch  # here, not at the top: the Models page shows a finished report without torch

    from tlcore.train.depths import depth_features
    from tlcore.train.run_inputs import build_inputs

    started = time.monotonic()
    options = options or {}
    ds = load_source(source, text_column=options.get("text_column"), label_column=options.get("label_column"),
                     full_check=True)
    prep = prepare(TrainConfig(data=source, model=model_id, strategy="linear_probe", **options), dataset=ds)
    rows = scored_rows(prep)
    emit = phase_reporter(progress, prep.spec.title)
    device = torch.device(prep.resolved.device)
    inputs = build_inputs(prep, device, emit)
    depths = depth_features(prep, inputs, rows, lambda done, total: emit(
        "phase", {"message": "Features at every depth", "done": done, "total": total}))
    scores = paired_scores(dict(zip(depths.names, depths.features)), ds.labels[rows],
                           groups=np.asarray(ds.item_hashes)[rows], resamples=RESAMPLES)
    curve = [DepthScore(name, int(f.shape[1]), float(scores.logme_full[i]), float(scores.logme[i].std(ddof=1)),
                        float(scores.knn_full[i]), float(scores.knn[i].std(ddof=1)))
             for i, (name, f) in enumerate(zip(depths.names, depths.features))]
    through, distance = layer_advice.combined_freeze_index(scores), gauge(depths.logits)
    return LayerReport(source, prep.spec.id, prep.spec.title, len(prep.train_idx), curve, through, through + 1,
                       freeze_advice(curve, through, bool(distance and distance.warn)), distance,
                       round(time.monotonic() - started, 3))


def freeze_advice(curve: list[DepthScore], through: int, far: bool = False) -> str:
    """The freeze suggestion in words; `far`: the gauge says the data is far from the pretraining data, where a
    frozen network is the wrong default even when its deepest features are its best (FINDINGS.md §5, digits)."""
    last = len(curve) - 1
    if through == last and far:
        return ("The deepest features are the most useful of this network's, but your data is far from what it "
                "was pretrained on: fine-tune the whole network rather than keeping it frozen.")
    if through == last:
        return ("Keep the whole pretrained network frozen (a linear probe is enough): its deepest features are "
                "the most useful for your data.")
    return (f"Suggestion: keep the first {through + 1} of the {len(curve)} stages read here frozen (up to "
            f"{curve[through].depth}) and fine-tune the rest: features there already suit your data as well as "
            "the deepest ones, and the later stages add nothing for it. Compare strategies to confirm.")


def gauge(logits: np.ndarray | None) -> Gauge | None:
    if logits is None or not len(logits):
        return None
    msp, entropy = layer_advice.imagenet_confidence(logits)
    level = layer_advice.domain_level(msp)
    message = {"near": "Your data looks like the photos this model was pretrained on: transfer should help.",
               "moderate": "Your data is somewhat unlike the photos this model was pretrained on: transfer "
                           "usually still helps; fine-tuning may add more than a probe.",
               "far": FAR_WARNING}[level]
    return Gauge(msp, entropy, level, message, level == "far")
