"""The benchmark cases: the same data, split, model, seed and epoch budget for every side of a case.

Quick mode (a CI smoke check, about a minute on 2 cores) uses a stratified subset of each dataset and fewer
epochs; full mode uses everything and the references' own epoch budgets (tutorial 25, Trainer 3).
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from bench.environ import environ
from bench.measure import PeakMemory, Side
from bench.ours import run_ours
from bench.reference_text import TRAINER_EPOCHS, run_trainer
from bench.reference_vision import TUTORIAL_EPOCHS, run_gpu_loop, run_tutorial
from tlcore.core.config import TrainConfig
from tlcore.data import Dataset, list_builtins, load_source
from tlcore.train import prepare
from tlcore.train.defaults import default_strategy
from tlcore.train.prepare import resolved_as


@dataclass(frozen=True)
class Case:
    name: str
    data: str
    model: str
    epochs: int
    per_class: int | None = None  # quick mode: at most this many items per class of the whole dataset


CASES = {
    "vision": Case("vision", "tux-photos", "mobilenet_v2", TUTORIAL_EPOCHS),
    "text": Case("text", "rotten-tomatoes", "minilm-l6", TRAINER_EPOCHS),
}
QUICK = {"vision": {"epochs": 2, "per_class": 12}, "text": {"epochs": 1, "per_class": 40}}


def case_for(name: str, quick: bool) -> Case:
    case = CASES[name]
    return replace(case, **QUICK[name]) if quick else case


def subsample(ds: Dataset, per_class: int | None, seed: int) -> Dataset:
    """A stratified subset (at most `per_class` items of each class), the same for every side."""
    if per_class is None:
        return ds
    rng = np.random.default_rng(seed)
    keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(ds.labels == c))[:per_class]
                                   for c in range(ds.num_classes)]))
    return Dataset(f"{ds.name} (bench subset)", ds.modality, [ds.items[i] for i in keep], ds.labels[keep],
                   list(ds.classes), [ds.item_names[i] for i in keep], [ds.item_hashes[i] for i in keep])


def run_case(case: Case, seed: int) -> dict[str, Any]:
    """Reference(s) first, then ours; the target is the first reference's final test accuracy."""
    missing = [b for b in list_builtins() if b.id == case.data and not b.available]
    if missing:
        return {"name": case.name, "data": case.data, "model": case.model,
                "skipped": f"{case.data} is not installed: {missing[0].how_to_get}"}
    ds = subsample(load_source(case.data), case.per_class, seed)
    base = TrainConfig(data=case.data, model=case.model, seed=seed, epochs=case.epochs)
    split_prep = prepare(base, dataset=ds)  # the split and validation subset every side uses
    train, val, test = split_prep.train_idx, split_prep.val_idx, split_prep.split.test
    sides: list[tuple[str, Side]] = []
    if ds.modality == "image":
        sides.append(("reference", _measured(lambda: run_tutorial(ds, train, val, test, model_id=case.model,
                                                                  epochs=case.epochs, seed=seed))))
        if torch.cuda.is_available():
            sides.append(("reference", _measured(lambda: run_gpu_loop(ds, train, val, test, model_id=case.model,
                                                                      epochs=case.epochs, seed=seed))))
    else:
        sides.append(("reference", _measured(lambda: run_trainer(ds, train, test, model_id=case.model,
                                                                 epochs=case.epochs, seed=seed))))
    default = default_strategy(ds.modality, len(train), ds.num_classes)
    strategies = [default] + [s for s in ("linear_probe", "finetune") if s != default]  # the other, for context
    export_s = prime_exports(ds, base, strategies, seed) if ds.modality == "image" else None
    for strategy in strategies:
        label = f"Transfer Lab {'default ' if strategy == default else ''}({strategy})"
        sides.append(("ours", _measured(lambda s=strategy, name=label: run_ours(ds, base.with_(strategy=s), name))))
        if resolved_as(split_prep, strategy).amp_bf16 and not torch.cuda.is_available():  # what CPU bf16 brings
            sides.append(("ours", _measured(lambda s=strategy, name=f"{label}, float32": in_float32(
                lambda: run_ours(ds, base.with_(strategy=s), name)))))
    return {**summarize_case(case, ds, len(train), len(test), sides), "export_s": export_s}


def in_float32(run: Callable[[], Side]) -> Side:
    """`run` with bfloat16 autocast on a CPU turned off (`TLAB_CPU_BF16=0`), as on a CPU without bf16 instructions,
    in a fresh data directory of its own, so it decodes and computes its warm start's features as the side it
    doubles did."""
    with environ(TLAB_CPU_BF16="0", TLAB_DATA_DIR=tempfile.mkdtemp(prefix="tlab-bench-float32-")):
        return run()


def prime_exports(ds: Dataset, base: TrainConfig, strategies: list[str], seed: int) -> float:
    """Seconds to export the frozen body for ONNX Runtime at every input size our timed runs use, by running
    each strategy for one epoch on a few items per class in a throwaway data directory. An export depends only
    on the model (kept once per machine in TLAB_EXPORT_CACHE_DIR, like the downloaded weights), so the timed,
    cold runs still decode and compute every feature; this one-time cost is reported next to them. Nothing is
    exported when the machine already holds the exports (the figure is then just those small runs)."""
    started = time.monotonic()
    with environ(TLAB_DATA_DIR=tempfile.mkdtemp(prefix="tlab-bench-exports-")):
        few = subsample(ds, 6, seed)
        for strategy in strategies:
            run_ours(few, base.with_(strategy=strategy, epochs=1))
    return round(time.monotonic() - started, 2)


def _measured(run: Callable[[], Side]) -> Side:
    gc.collect()
    with PeakMemory() as memory:
        side = run()
    side.memory = memory.summary()
    return side


def summarize_case(case: Case, ds: Dataset, n_train: int, n_test: int,
                   sides: list[tuple[str, Side]]) -> dict[str, Any]:
    reference = sides[0][1]
    target = reference.final_accuracy
    ref_tta, ref_rate = reference.time_to(target), reference.steady_rate()
    ref_mem = reference.memory.get("added_mem_mb")
    rows = []
    for role, side in sides:
        tta, rate = side.time_to(target), side.steady_rate()
        row = {"role": role, **side.to_dict(), "time_to_target_s": _round(tta), "steady_per_s": _round(rate)}
        if side is not reference:
            row["ratios_ours_over_reference"] = {
                "time_to_target": _ratio(tta, ref_tta), "wall": _ratio(side.wall_s, reference.wall_s),
                "steady_per_s": _ratio(rate, ref_rate), "added_mem": _ratio(side.memory.get("added_mem_mb"), ref_mem)}
            row["speedup_time_to_target"] = _ratio(ref_tta, tta)
            row["accuracy_delta"] = round(side.final_accuracy - target, 4)
        rows.append(row)
    return {"name": case.name, "data": ds.name, "model": case.model, "epochs": case.epochs, "n_items": len(ds),
            "n_train": n_train, "n_test": n_test, "target_accuracy": round(target, 4), "sides": rows}


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None else round(x, digits)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b or a != a or b != b:
        return None
    return round(a / b, 3)
