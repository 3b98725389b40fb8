"""`python -m bench.distill`: a network taught by a pretrained model (distillation) against the same network
trained from scratch, and the teacher itself (a linear probe on the pretrained features), side by side.

Every dataset runs with its offline default model of its kind, at `--per-class` labelled examples per class,
on one split (`split_seed=0`), over `--seeds` seeds, with 95 % t-intervals over the seeds. Distillation also
learns from the teacher's answers on up to `strategies.TRANSFER_LIMIT` training items the per-class limit left
out (never their labels); from scratch does not get those items. The table says how many there were.

    OMP_NUM_THREADS=1 python -m bench.distill                 # tux-photos and bbc-news, 10 per class, 3 seeds
    python -m bench.distill --quick --json                    # smoke check: tux-photos, 1 seed, 2 epochs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODELS = {"tux-photos": "mobilenet_v2", "bbc-news": "minilm-l6"}  # the app's default model of each kind
# A cap on optimisation steps for both strategies: the 60 steps from scratch takes anyway at 10 per class (15 epochs
# of 4 batches of 16), so both get the same number of steps. MiniLM trains at ~3-8 texts/s on the shared 2 CPU
# cores: 15 epochs over 50 + 300 items would take 15-30 min per distillation run.
MAX_STEPS = {"bbc-news": 60}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.distill", description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=",".join(MODELS), help="comma-separated dataset ids")
    parser.add_argument("--per-class", type=int, default=10, help="labelled training examples per class")
    parser.add_argument("--seeds", type=int, help="seeds per strategy (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="smoke check: tux-photos, 1 seed, 2 epochs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return parser.parse_args(argv)


def one_run(ds: Any, data: str, strategy: str, seed: int, per_class: int, epochs: int | None) -> dict[str, Any]:
    from tlcore.core.config import TrainConfig
    from tlcore.train import prepare, train_run

    config = TrainConfig(data=data, model=MODELS[data], strategy=strategy, seed=seed, split_seed=0,
                         per_class=per_class, epochs=epochs, max_steps=MAX_STEPS.get(data), device="cpu")
    started = time.perf_counter()
    out = train_run(prepare(config, dataset=ds), emit=lambda *_: None, should_stop=lambda: False)
    return dict(out.summary, wall_seconds=time.perf_counter() - started)


def evaluate(data: str, per_class: int, seeds: int, epochs: int | None) -> dict[str, Any]:
    from tlcore.core.stats import mean_interval
    from tlcore.data import load_source

    ds = load_source(data, full_check=True)
    runs = {s: [one_run(ds, data, s, seed, per_class, epochs) for seed in range(seeds)]
            for s in ("scratch", "distill")}
    taught = runs["distill"]
    columns = {"scratch": [r["test_accuracy"] for r in runs["scratch"]],
               "distill": [r["test_accuracy"] for r in taught],
               "teacher": [r["teacher_test_accuracy"] for r in taught]}
    return {"data": data, "model": MODELS[data], "per_class": per_class, "seeds": seeds,
            "max_steps": MAX_STEPS.get(data), "unlabelled_items": [r["unlabelled_items"] for r in taught],
            "n_test": taught[0]["n_test"], "epochs": {s: [r["epochs"] for r in runs[s]] for s in runs},
            "wall_seconds": {s: sum(r["wall_seconds"] for r in runs[s]) / seeds for s in runs},
            **{k: mean_interval(v).to_dict() for k, v in columns.items()}}


def _cell(interval: dict[str, Any]) -> str:
    if interval["low"] is None:
        return f"{interval['mean']:.3f}"
    return f"{interval['mean']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def render(results: list[dict[str, Any]]) -> str:
    lines = ["| data (model) | labelled / class | unlabelled items (distillation only) | from scratch | "
             "distillation | teacher (linear probe) | distillation − scratch | s per run (scratch / distill) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        cap = f", ≤{r['max_steps']} steps" if r["max_steps"] else ""
        gain = 100 * (r["distill"]["mean"] - r["scratch"]["mean"])
        lines.append(f"| {r['data']} ({r['model']}{cap}) | {r['per_class']} | {min(r['unlabelled_items'])}"
                     f"{'' if len(set(r['unlabelled_items'])) == 1 else '–' + str(max(r['unlabelled_items']))} | "
                     f"{_cell(r['scratch'])} | {_cell(r['distill'])} | {_cell(r['teacher'])} | {gain:+.1f} points | "
                     f"{r['wall_seconds']['scratch']:.0f} / {r['wall_seconds']['distill']:.0f} |")
    seeds = results[0]["seeds"] if results else 0
    lines.append(f"\nMean test accuracy over {seeds} seeds [95 % t-interval], same split (split_seed=0) and test items "
                 "for every column; the teacher is fitted inside each distillation run on its labelled items.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    chosen = ["tux-photos"] if args.quick else [d.strip() for d in args.data.split(",") if d.strip()]
    unknown = [d for d in chosen if d not in MODELS]
    if unknown:
        print(f"No default model set for {', '.join(unknown)}; choose from {', '.join(MODELS)}.", file=sys.stderr)
        return 2
    seeds = args.seeds or (1 if args.quick else 3)
    results = [evaluate(d, args.per_class, seeds, 2 if args.quick else None) for d in chosen]
    print(json.dumps({"mode": "quick" if args.quick else "full", "results": results}, indent=1) if args.json
          else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
