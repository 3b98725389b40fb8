"""A rough time estimate for a run before it starts, so people know whether to wait or grab a coffee.

Throughputs were measured on this project's reference machine (2 CPU cores; see README) and are scaled
by image area or sequence length. Early stopping usually makes real runs shorter than the estimate.
"""

from __future__ import annotations

import numpy as np

from tlcore.core import strategies
from tlcore.data.images import median_side
from tlcore.train import Prepared, cap_epochs
from tlcore.train.defaults import resolve

# (training examples/s, inference examples/s) at the reference size on 2 CPU cores.
CPU_RATES = {
    ("torchvision", "image"): (39.0, 170.0),   # MobileNetV2 at 160 px, channels_last
    ("timm", "image"): (25.0, 130.0),          # EfficientNet-Lite0 at 160 px
    ("hf", "text"): (8.0, 30.0),               # MiniLM-L6 at 128 tokens
    ("glove", "text"): (2000.0, 5000.0),
}
REFERENCE = {"image": 160, "text": 128}
GPU_SPEEDUP = 30.0
WORKER_START_S = 8.0  # importing torch, timm and transformers in a fresh worker process


def _rates(prep: Prepared) -> tuple[float, float]:
    """(training, inference) examples per second for this model, size and device."""
    spec, r = prep.spec, prep.resolved
    train_rate, infer_rate = CPU_RATES.get((spec.family, spec.modality), (20.0, 100.0))
    size = r.image_size if spec.modality == "image" else r.max_length
    exponent = 2 if spec.modality == "image" else 1
    scale = (REFERENCE[spec.modality] / size) ** exponent
    if r.device == "cuda":
        scale *= GPU_SPEEDUP
    return train_rate * scale, infer_rate * scale


def _feature_cost(prep: Prepared, strategy: str) -> float:
    """How much more a frozen-feature pass costs than an inference pass at the prepared size: on a CPU such
    strategies read images at the model's own size (see `resolve`), which `prep` may not have resolved to."""
    if prep.spec.modality != "image" or prep.config.image_size or strategies.get(prep.config.strategy).frozen_features:
        return 1.0
    own = resolve(prep.config.with_(strategy=strategy), prep.spec, median_side(prep.dataset)).image_size
    return (own / prep.resolved.image_size) ** 2


def estimate_seconds(prep: Prepared, strategy: str, *, n_train: int | None = None, epochs: int | None = None,
                     features_cached: bool = False) -> float:
    """One run; `n_train`/`epochs` override the prepared ones (a study's smaller cells), and
    `features_cached` drops the one-off feature pass of probe-like strategies."""
    r = prep.resolved
    train_rate, infer_rate = _rates(prep)
    n_train = len(prep.train_idx) if n_train is None else n_train
    n_val, n_test = len(prep.val_idx), len(prep.split.test)
    declared = strategies.get(strategy)
    if declared.frozen_features:
        feature_pass = 0 if features_cached else len(prep.dataset) / infer_rate * _feature_cost(prep, strategy)
        return WORKER_START_S + feature_pass
    epochs = r.epochs if epochs is None else epochs
    per_epoch = (n_train / train_rate + n_val / infer_rate) * declared.cost
    return WORKER_START_S + epochs * per_epoch + n_test / infer_rate


def estimate_comparison_seconds(prep: Prepared, strategy_ids: list[str], seeds: int) -> float:
    """Runs execute one after another on one device, so the estimate is their sum."""
    return seeds * sum(estimate_seconds(prep, s) for s in strategy_ids)


def estimate_study_seconds(prep: Prepared, cells: list[tuple[str, int | None]], max_steps: int | None) -> float:
    """A study's (strategy, examples per class) cells run one after another; frozen features are computed
    once for the whole study (they are cached per dataset and model)."""
    counts = np.bincount(prep.dataset.labels[prep.split.train], minlength=prep.dataset.num_classes)
    total, cached = 0.0, False
    for strategy, k in cells:
        n_train = int(counts.sum() if k is None else np.minimum(counts, k).sum())
        epochs = cap_epochs(prep.resolved, max_steps, n_train).epochs
        total += estimate_seconds(prep, strategy, n_train=n_train, epochs=epochs, features_cached=cached)
        cached = cached or strategies.get(strategy).frozen_features
    return total


def format_duration(seconds: float | None) -> str:
    """'about 40 s', 'about 3 min', 'about 1 h 10 min'."""
    if seconds is None or seconds != seconds:
        return "unknown"
    if seconds < 60:
        return f"about {max(5, int(round(seconds / 5) * 5))} s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60} min"
