"""`python -m bench.gpu_check [--quick]`: on one GPU, our fine-tune of MobileNetV2 on tux-photos (the engine's
normal training path) against a hand-written bf16 + channels_last + data-on-device loop, printed as ONE JSON
line. Installs nothing; the full check takes a few minutes on a GPU. On a CPU it runs too (use `--quick`: a
few images per class at 32 px, one epoch), so the test suite exercises it; its timings then mean nothing.

Output (one line): {"device", "torch", "mode", "data", "model", "epochs", "image_size", "n_train", "n_test",
"target_accuracy" (the hand-written loop's final test accuracy), "ours": SIDE, "hand_written": SIDE, "ratios"}
with SIDE = {"images_per_s" (median training images/s of an epoch after the first), "time_to_accuracy_s"
(seconds until the test accuracy first reaches the target; null: never), "final_accuracy", "wall_s",
"peak_gpu_mb" (`torch.cuda.max_memory_allocated`; null on a CPU), "bf16", "channels_last", "data_device",
"batch_size"} and "ratios" = ours / hand-written for images_per_s, time_to_accuracy_s and peak_gpu_mb.
See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA, MODEL = "tux-photos", "mobilenet_v2"
FULL = {"epochs": 10, "per_class": None, "image_size": None}  # image_size None: the engine's default
QUICK = {"epochs": 1, "per_class": 4, "image_size": 32}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few images at 32 px, one epoch (CPU smoke check)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data_dir = tempfile.mkdtemp(prefix="tlab-gpu-check-")
    os.environ["TLAB_DATA_DIR"] = data_dir
    try:
        result = check(QUICK if args.quick else FULL, args.seed)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result["mode"] = "quick" if args.quick else "full"
    print(json.dumps(result, allow_nan=False))
    return 0


def check(size: dict[str, Any], seed: int) -> dict[str, Any]:
    import torch

    from bench.cases import subsample
    from bench.ours import run_ours
    from bench.reference_vision import run_gpu_loop
    from tlcore.core.config import TrainConfig
    from tlcore.data import load_source
    from tlcore.train import prepare
    from tlcore.train.defaults import device_description

    ds = subsample(load_source(DATA), size["per_class"], seed)
    config = TrainConfig(data=DATA, model=MODEL, strategy="finetune", seed=seed, epochs=size["epochs"],
                         image_size=size["image_size"], patience=0)
    prep = prepare(config, dataset=ds)
    image_size = prep.resolved.image_size
    hand = _on_gpu(lambda: run_gpu_loop(ds, prep.train_idx, prep.val_idx, prep.split.test, model_id=MODEL,
                                        epochs=size["epochs"], seed=seed, image_size=image_size))
    ours = _on_gpu(lambda: run_ours(ds, config, "Transfer Lab (finetune)"))
    target = hand["side"].final_accuracy
    sides = {"ours": _row(ours, target), "hand_written": _row(hand, target)}
    return {"device": device_description(),
            "torch": torch.__version__, "python": platform.python_version(), "data": DATA, "model": MODEL,
            "epochs": size["epochs"], "image_size": image_size, "n_train": int(len(prep.train_idx)),
            "n_test": int(len(prep.split.test)), "target_accuracy": _finite(target), **sides,
            "ratios": {k: _ratio(sides["ours"][k], sides["hand_written"][k])
                       for k in ("images_per_s", "time_to_accuracy_s", "peak_gpu_mb")}}


def _on_gpu(run: Callable[[], Any]) -> dict[str, Any]:
    """The side, and the peak GPU memory it allocated (None on a CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    side = run()
    peak = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    return {"side": side, "peak_gpu_mb": peak}


def _row(measured: dict[str, Any], target: float) -> dict[str, Any]:
    side = measured["side"]
    return {"images_per_s": _finite(side.steady_rate()), "time_to_accuracy_s": _finite(side.time_to(target)),
            "final_accuracy": _finite(side.final_accuracy), "wall_s": _finite(side.wall_s),
            "peak_gpu_mb": _finite(measured["peak_gpu_mb"]), "bf16": bool(side.extra.get("bf16")),
            "channels_last": bool(side.extra.get("channels_last")),
            "data_device": side.extra.get("data_device", side.extra.get("device")),
            "batch_size": side.extra.get("batch_size")}


def _finite(x: float | None) -> float | None:
    return None if x is None or x != x or x in (float("inf"), float("-inf")) else round(float(x), 3)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


if __name__ == "__main__":
    sys.exit(main())
