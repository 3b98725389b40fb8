"""A comparison written straight into a real store and run folders, with known numbers, for the analysis,
figure and page tests (no training needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tlcore.runs.store import RunStore

CLASSES = ["cat", "dog", "fox"]
TRUE = ["cat", "cat", "dog", "dog", "fox", "fox"]  # test items 0..5, the same for every seed here
# (strategy, seed) -> val_acc per epoch, elapsed per epoch, test accuracy, correct flags of the 6 test items
RUNS = {
    ("scratch", 0): ([0.30, 0.40, 0.50], [1.0, 2.0, 3.0], 0.50, [1, 0, 1, 0, 1, 0]),
    ("scratch", 1): ([0.35, 0.45, 0.55], [1.5, 2.5, 3.5], 0.55, [1, 1, 0, 0, 1, 1]),
    ("scratch", 2): ([0.40, 0.50, 0.60], [2.0, 3.0, 4.0], 0.60, [0, 1, 1, 1, 1, 1]),
    ("linear_probe", 0): ([0.80, 0.85, 0.90], [0.5, 1.0, 1.5], 0.90, [1, 1, 1, 1, 1, 0]),
    ("linear_probe", 1): ([0.82, 0.88, 0.92], [0.5, 1.0, 1.5], 0.92, [1, 1, 1, 1, 0, 1]),
    ("linear_probe", 2): ([0.84, 0.91, 0.94], [0.5, 1.0, 1.5], 0.94, [1, 1, 1, 1, 1, 1]),
    ("finetune", 0): ([0.70, 0.80], [3.0, 6.0], 0.80, [1, 1, 1, 0, 1, 0]),
}
PARAMS = {"scratch": 2_000_000, "linear_probe": 3_843, "finetune": 2_000_000}


def _evaluation(flags: list[int]) -> tuple[dict, list[dict]]:
    preds = [t if ok else CLASSES[(CLASSES.index(t) + 1) % 3] for t, ok in zip(TRUE, flags)]
    confusion = [[sum(1 for t, p in zip(TRUE, preds) if t == a and p == b) for b in CLASSES] for a in CLASSES]
    per_class = {}
    for c in CLASSES:
        rows = [ok for t, ok in zip(TRUE, flags) if t == c]
        per_class[c] = {"precision": 0.5, "recall": sum(rows) / len(rows), "f1": 0.5, "support": len(rows)}
    evaluation = {"accuracy": sum(flags) / 6, "macro_f1": 0.5, "ece": 0.1, "n": 6, "per_class": per_class,
                  "confusion": confusion, "classes": CLASSES}
    predictions = [{"index": i, "name": f"item{i}.png", "true": t, "pred": p, "correct": bool(ok),
                    "top": [[p, 0.9]]} for i, (t, p, ok) in enumerate(zip(TRUE, preds, flags))]
    return evaluation, predictions


def make_comparison(store: RunStore, data_dir: Path, *, data: str = "tiny", fingerprint: str | None = None,
                    running: bool = True, group_id: str = "cmp-test", owner: str = "",
                    data_name: str = "") -> dict[tuple[str, int], str]:
    """Succeeded runs from RUNS (+ optionally a running finetune seed 1 with one epoch), artifacts on disk."""
    ids = {}
    for (strategy, seed), (val, elapsed, acc, flags) in RUNS.items():
        extra = {"data_fingerprint": fingerprint} if fingerprint else {}
        ids[(strategy, seed)] = add_finished_run(store, data_dir, strategy, seed, (val, elapsed, acc, flags),
                                                 result=extra, data=data, group_id=group_id, owner=owner,
                                                 data_name=data_name)
    if running:
        config = {"strategy": "finetune", "seed": 1, "model": "m", "data": data, "data_name": data_name}
        run_id = store.create_run(config,
                                  group_id=group_id, name=f"m on {data}: finetune (seed 1)", owner=owner)
        store.claim(run_id)
        store.mark_running(run_id, os.getpid())
        store.add_epoch(run_id, {"epoch": 1, "val_acc": 0.6, "val_loss": 1.0, "train_loss": 1.5, "elapsed": 5.0})
        ids[("finetune", 1)] = run_id
    return ids


def add_finished_run(store: RunStore, data_dir: Path, strategy: str, seed: int,
                     numbers: tuple[list[float], list[float], float, list[int]], *, result: dict | None = None,
                     data: str = "tiny", group_id: str = "cmp-test", owner: str = "", data_name: str = "") -> str:
    """One succeeded run of a comparison with its epochs, evaluation and predictions (numbers as in RUNS);
    `result` adds to or overrides its summary."""
    val, elapsed, acc, flags = numbers
    config = {"strategy": strategy, "seed": seed, "model": "m", "data": data, "data_name": data_name}
    run_id = store.create_run(config, group_id=group_id, name=f"m on {data}: {strategy} (seed {seed})", owner=owner)
    store.claim(run_id)
    store.mark_running(run_id, os.getpid())
    for e, (v, t) in enumerate(zip(val, elapsed), start=1):
        store.add_epoch(run_id, {"epoch": e, "train_loss": 1.0 / e, "train_acc": v, "val_loss": 2.0 / e,
                                 "val_acc": v, "lr": 0.01, "elapsed": t})
    evaluation, predictions = _evaluation(flags)
    folder = data_dir / "runs" / run_id
    folder.mkdir(parents=True)
    (folder / "evaluation.json").write_text(json.dumps(evaluation))
    (folder / "predictions.json").write_text(json.dumps(predictions))
    summary = {"test_accuracy": acc, "macro_f1": acc - 0.1, "ece": 0.05, "n_train": 30, "n_test": 6,
               "epochs": len(val), "wall_seconds": 10.0 * (1 + len(strategy) % 3) + seed,
               "trainable_params": PARAMS.get(strategy, 2_000_000), "split_id": f"split-{seed}"}
    assert store.finish(run_id, "succeeded", result=dict(summary, **(result or {})))
    return run_id
