"""A rough time estimate for a run before it starts, so people know whether to wait or grab a coffee.

Throughputs were measured on this project's reference machine (2 CPU cores; see README) and are scaled
by image area or sequence length. Early stopping usually makes real runs shorter than the estimate.
"""

from __future__ import annotations

from tlcore.train.run import Prepared

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


def estimate_seconds(prep: Prepared, strategy: str) -> float:
    spec, r = prep.spec, prep.resolved
    train_rate, infer_rate = CPU_RATES.get((spec.family, spec.modality), (20.0, 100.0))
    size = r.image_size if spec.modality == "image" else r.max_length
    exponent = 2 if spec.modality == "image" else 1
    scale = (REFERENCE[spec.modality] / size) ** exponent
    if r.device == "cuda":
        scale *= GPU_SPEEDUP
    train_rate, infer_rate = train_rate * scale, infer_rate * scale
    n_train, n_val, n_test = len(prep.train_idx), len(prep.val_idx), len(prep.split.test)
    if strategy == "linear_probe":
        return WORKER_START_S + len(prep.dataset) / infer_rate
    per_epoch = n_train / train_rate + n_val / infer_rate
    if strategy == "gradual":
        per_epoch *= 0.75  # a third of the epochs only train the head
    elif strategy == "lora":
        per_epoch *= 0.8
    return WORKER_START_S + r.epochs * per_epoch + n_test / infer_rate


def estimate_comparison_seconds(prep: Prepared, strategies: list[str], seeds: int) -> float:
    """Runs execute one after another on one device, so the estimate is their sum."""
    return seeds * sum(estimate_seconds(prep, s) for s in strategies)


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
