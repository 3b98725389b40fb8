"""`python -m bench.cpu_bf16`: a training step in float32 against one under bfloat16 autocast on this CPU, side by
side in one run, for MiniLM-L6 and ViT-S/16 (transformers) and MobileNetV2 (a CNN). On a CPU with bfloat16 matrix
instructions the engine trains every run that trains layers under autocast, as on a GPU (`tlcore.train.defaults`).
Each model is the engine's own (`tlcore.models.create`, random weights: a step's speed does not depend on them)
with the engine's fused AdamW; the two precisions alternate step by step after a warm-up, and each one's median
step is printed with their ratio and what the engine chooses here.

    python -m bench.cpu_bf16             # a table
    python -m bench.cpu_bf16 --json
    python -m bench.cpu_bf16 --quick     # tiny inputs and few steps: the test's check that it runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from tlcore.core import settings
from tlcore.core.config import TrainConfig
from tlcore.models import create, get_spec
from tlcore.train.defaults import resolve
from tlcore.train.device import cpu_bf16_native


@dataclass(frozen=True)
class Workload:
    model: str
    batch: int
    size: int  # image side, or tokens per text
    quick_batch: int
    quick_size: int


WORKLOADS = (Workload("minilm-l6", 16, 32, 2, 8), Workload("vit_small", 16, 224, 1, 224),
             Workload("mobilenet_v2", 32, 160, 2, 64))


def step_function(work: Workload, quick: bool) -> tuple[Callable[[bool], None], dict[str, Any]]:
    """One optimiser step of `work.model` on a fixed random batch, under bf16 autocast or not."""
    torch.manual_seed(0)
    spec = get_spec(work.model)
    batch, size = (work.quick_batch, work.quick_size) if quick else (work.batch, work.size)
    model = create(spec, 2, "scratch").train()
    if spec.modality == "image":
        model = model.to(memory_format=torch.channels_last)
        inputs: tuple[torch.Tensor, ...] = (
            torch.randn(batch, 3, size, size).contiguous(memory_format=torch.channels_last),)
    else:
        inputs = (torch.randint(1000, 20000, (batch, size)), torch.ones(batch, size, dtype=torch.long))
    labels = torch.arange(batch) % 2
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(*inputs).float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    engine = resolve(TrainConfig(data="bench", model=work.model, strategy="finetune"), spec).amp_bf16
    return step, {"batch": batch, "size": size, "engine_uses_bf16": engine}


def measure_workload(work: Workload, steps: int, quick: bool) -> dict[str, Any]:
    step, facts = step_function(work, quick)
    for bf16 in (False, True):  # warm-up: oneDNN picks and caches its kernels on the first calls
        step(bf16)
    seconds: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(steps):
        for bf16 in (False, True):
            began = time.perf_counter()
            step(bf16)
            seconds[bf16].append(time.perf_counter() - began)
    fp32, bf16 = statistics.median(seconds[False]), statistics.median(seconds[True])
    return {"model": work.model, **facts, "fp32_step_s": fp32, "bf16_step_s": bf16, "bf16_speedup": fp32 / bf16,
            "steps": steps}


def measure(steps: int, quick: bool) -> dict[str, Any]:
    torch.set_num_threads(settings.torch_threads(os.cpu_count() or 1))
    return {"cpu_bf16_instructions": cpu_bf16_native(), "threads": torch.get_num_threads(),
            "rows": [measure_workload(work, steps, quick) for work in WORKLOADS]}


def render(result: dict[str, Any]) -> str:
    native = "yes" if result["cpu_bf16_instructions"] else "no"
    lines = [f"a training step, float32 against bfloat16 autocast, {result['threads']} threads; bfloat16 matrix "
             f"instructions: {native} (median of {result['rows'][0]['steps']} alternating steps each)",
             f"{'model':14} {'batch':>5} {'size':>5} {'float32':>9} {'bf16':>9} {'bf16 speed-up':>14} engine uses bf16"]
    for r in result["rows"]:
        lines.append(f"{r['model']:14} {r['batch']:5} {r['size']:5} {r['fp32_step_s']:8.3f}s {r['bf16_step_s']:8.3f}s "
                     f"{r['bf16_speedup']:13.2f}x {'yes' if r['engine_uses_bf16'] else 'no'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_bf16", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each precision, per model")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(2 if args.quick else args.steps, args.quick)
    print(json.dumps(result, indent=1) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
