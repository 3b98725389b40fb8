"""`python -m bench --cases roofline`: how close each frozen pass comes to this machine's matmul limit.

Side by side in one process run, interleaved (every repeat runs each measurement once, so load from other
processes hits all alike; medians are reported):
* the sustained fp32 GEMM rate (`torch.mm`, square matrices) with 1 thread and with this process's threads, as
  GFLOP/s of wall time and as GFLOP per CPU-second of this process (the per-core limit, whatever else runs);
* FLOPs per item of each offline model's body (`torch.utils.flop_counter.FlopCounterMode`, one item);
* each frozen pass through the engine's own `compute_features`, on the eager PyTorch body and on ONNX Runtime
  (images only: texts stay on PyTorch), as items/s and items per CPU-second, and as a fraction of the limit.

Quick mode (the test suite): 512² GEMMs, MobileNetV2 only, 8 images of 64 px, one repeat; a few seconds.
(Not 32 px: there the eager channels_last body hits a slow oneDNN path on this CPU, ~25x slower than NCHW.)
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench.environ import environ
from tlcore.models import availability, create, get_spec, text_encoder_for
from tlcore.train.features import compute_features
from tlcore.train.frozen_onnx import BACKEND_ENV
from tlcore.train.inputs import ImageInputs, Inputs, TextInputs


@dataclass(frozen=True)
class Sizes:
    gemm_n: int
    items: int
    batch: int
    repeats: int
    models: tuple[str, ...]
    image_size: int | None = None  # None: each model's own input size


QUICK = Sizes(gemm_n=512, items=8, batch=4, repeats=1, models=("mobilenet_v2",), image_size=64)
FULL = Sizes(gemm_n=2048, items=64, batch=32, repeats=3,
             models=("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "minilm-l6"))
TEXT = "the quick brown fox jumps over the lazy dog while a small penguin watches from the ice " * 12


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def gemm_rate(n: int, threads: int, reps: int = 3) -> tuple[float, float]:
    """fp32 `torch.mm` of n×n matrices: (GFLOP/s of wall time, GFLOP per CPU-second)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        torch.mm(a, b)  # warm
        wall, cpu = timed(lambda: [torch.mm(a, b) for _ in range(reps)])
    finally:
        torch.set_num_threads(before)
    gflop = 2 * n ** 3 * reps / 1e9
    return gflop / wall, gflop / max(cpu, 1e-9)


def flops_per_item(body: torch.nn.Module, inputs: Inputs) -> int:
    first, _, _ = next(inputs.batches(torch.arange(1), 1, train=False))
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        body(*first)
    return counter.get_total_flops()


def model_inputs(model_id: str, sizes: Sizes) -> Inputs:
    spec = get_spec(model_id)
    labels = torch.zeros(sizes.items, dtype=torch.long)
    if spec.modality == "text":
        encoded = text_encoder_for(spec)([TEXT[i:] for i in range(sizes.items)])  # truncated to max_length
        return TextInputs(encoded["input_ids"], encoded["attention_mask"], labels, torch.device("cpu"))
    side = sizes.image_size or spec.input_size
    images = torch.randint(0, 256, (sizes.items, 3, side, side), generator=torch.Generator().manual_seed(0),
                           dtype=torch.uint8)
    return ImageInputs(images, labels, spec.mean, spec.std, torch.device("cpu"), augment=False, channels_last=True)


def frozen_pass(body: torch.nn.Module, inputs: Inputs, model_id: str, sizes: Sizes,
                backend: str) -> tuple[float, float]:
    """(wall, CPU) seconds of the engine's frozen pass with `backend` ("torch" forces the eager body)."""
    with backend_forced(backend):
        return timed(lambda: compute_features(body, inputs, sizes.items, sizes.batch, model_id=model_id))


def backend_forced(backend: str) -> contextlib.AbstractContextManager[None]:
    return environ(**{BACKEND_ENV: backend})


def backends(model_id: str) -> tuple[str, ...]:
    return ("torch", "onnxruntime") if get_spec(model_id).modality == "image" else ("torch",)


def run_roofline(quick: bool, seed: int) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    threads = torch.get_num_threads()
    torch.manual_seed(seed)
    models, one_off = {}, {}
    for model_id in sizes.models:
        if not availability(get_spec(model_id)).available:
            continue
        body = create(get_spec(model_id), 2, "pretrained").body.eval().to(memory_format=torch.channels_last)
        inputs = model_inputs(model_id, sizes)
        models[model_id] = (body, inputs, flops_per_item(body, inputs))
        for backend in backends(model_id):  # warm-up; the first ONNX Runtime pass exports the body
            one_off[f"{model_id}/{backend}"] = frozen_pass(body, inputs, model_id, sizes, backend)[0]
    samples: dict[str, list[float]] = {}
    for _ in range(sizes.repeats):
        for t in sorted({1, threads}):
            wall, cpu = gemm_rate(sizes.gemm_n, t)
            samples.setdefault(f"gemm_t{t}", []).append(wall)
            samples.setdefault(f"gemm_t{t}_per_cpu_s", []).append(cpu)
        for model_id, (body, inputs, _) in models.items():
            for backend in backends(model_id):
                wall, cpu = frozen_pass(body, inputs, model_id, sizes, backend)
                samples.setdefault(f"{model_id}/{backend}", []).append(sizes.items / wall)
                samples.setdefault(f"{model_id}/{backend}/per_cpu_s", []).append(sizes.items / max(cpu, 1e-9))
    return summarize(sizes, threads, {k: statistics.median(v) for k, v in samples.items()}, models, one_off)


def summarize(sizes: Sizes, threads: int, median: dict[str, float], models: dict, one_off: dict) -> dict[str, Any]:
    core, limit = median["gemm_t1_per_cpu_s"], median[f"gemm_t{threads}"]
    rows = []
    for model_id, (_, _, flops) in models.items():
        gflop = flops / 1e9
        for backend in backends(model_id):
            per_s, per_cpu = median[f"{model_id}/{backend}"], median[f"{model_id}/{backend}/per_cpu_s"]
            rows.append({"model": model_id, "backend": backend, "gflop_per_item": round(gflop, 4),
                         "items_per_s": round(per_s, 2), "items_per_cpu_s": round(per_cpu, 2),
                         "fraction_of_limit": round(per_s * gflop / limit, 4),
                         "fraction_of_core": round(per_cpu * gflop / core, 4),
                         "limit_items_per_s": round(limit / gflop, 1) if gflop else None,
                         "first_pass_s": round(one_off[f"{model_id}/{backend}"], 2)})
    for row in rows:
        eager = next(r for r in rows if r["model"] == row["model"] and r["backend"] == "torch")
        row["speedup_over_eager"] = round(row["items_per_s"] / eager["items_per_s"], 2)
    return {"name": "roofline", "kind": "roofline", "threads": threads, "gemm_n": sizes.gemm_n,
            "items": sizes.items, "batch": sizes.batch, "repeats": sizes.repeats, "image_size": sizes.image_size,
            "gemm_gflops": {"1_thread": round(median["gemm_t1"], 1), f"{threads}_threads": round(limit, 1),
                            "per_cpu_s": round(core, 1)},
            "passes": rows}


def render_roofline(case: dict[str, Any]) -> list[str]:
    g, threads = case["gemm_gflops"], case["threads"]
    lines = ["", f"roofline: fp32 GEMM {case['gemm_n']}², {threads} threads {g[f'{threads}_threads']} "
                 f"GFLOP/s (1 thread {g['1_thread']}; {g['per_cpu_s']} per CPU-second); frozen passes of "
                 f"{case['items']} items, batch {case['batch']}, median of {case['repeats']}",
             f"{'model':20} {'backend':12} {'GFLOP/item':>10} {'items/s':>8} {'/CPU-s':>7} {'of limit':>8} "
             f"{'of core':>8} {'speedup':>8} {'first pass':>10}"]
    for r in case["passes"]:
        lines.append(f"{r['model']:20} {r['backend']:12} {r['gflop_per_item']:10.3f} {r['items_per_s']:8.1f} "
                     f"{r['items_per_cpu_s']:7.1f} {100 * r['fraction_of_limit']:7.1f}% "
                     f"{100 * r['fraction_of_core']:7.1f}% "
                     f"{r['speedup_over_eager']:7.2f}x {r['first_pass_s']:9.1f}s")
    return lines
