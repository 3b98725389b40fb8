"""`python -m bench.distill`: a network taught by a pretrained model (distillation) against the same network
trained from scratch, and the teacher itself (a linear probe on the pretrained features), side by side.

Every case is a dataset with a model (default: tux-photos and bbc-news, each with the app's default model of its
kind), at `--per-class` labelled examples per class, on one split (`split_seed=0`), over `--seeds` seeds, with
95 % t-intervals over the seeds. Distillation also learns from the teacher's answers on up to
`strategies.TRANSFER_LIMIT` training items the per-class limit left out (never their labels); from scratch does
not get those items. The table says how many there were.

    OMP_NUM_THREADS=1 python -m bench.distill 2> runs.log     # tux-photos and bbc-news, 10 per class, 3 seeds
    python -m bench.distill --cases bbc-news:glove-50d-bag    # other DATA:MODEL pairs
    python -m bench.distill --table-from runs.log             # the table of the runs an unfinished bench logged
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

DEFAULT_CASES = "tux-photos:mobilenet_v2,bbc-news:minilm-l6"  # the app's default model of each kind
# A cap on optimisation steps for both strategies of a case: the 60 steps from scratch takes anyway at 10 per class
# (15 epochs of 4 batches of 16), so both get at most the same number of steps. MiniLM trains at ~3-8 texts/s on
# the shared 2 CPU cores: 15 epochs over 50 + 300 items would take 15-30 min per distillation run.
MAX_STEPS = {("bbc-news", "minilm-l6"): 60}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.distill", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated DATA:MODEL pairs")
    parser.add_argument("--per-class", type=int, default=10, help="labelled training examples per class")
    parser.add_argument("--seeds", type=int, help="seeds per strategy (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="smoke check: tux-photos, 1 seed, 2 epochs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--table-from", metavar="LOG", help="only print the table of the runs a (possibly "
                        "unfinished) earlier bench wrote to stderr, one JSON line per run")
    return parser.parse_args(argv)


def one_run(ds: Any, case: tuple[str, str], strategy: str, seed: int, per_class: int,
            epochs: int | None) -> dict[str, Any]:
    """One run; its row also goes to stderr at once, so an interrupted bench still leaves its table."""
    from tlcore.core.config import TrainConfig
    from tlcore.train import prepare, train_run

    data, model = case
    config = TrainConfig(data=data, model=model, strategy=strategy, seed=seed, split_seed=0,
                         per_class=per_class, epochs=epochs, max_steps=MAX_STEPS.get(case), device="cpu")
    started = time.perf_counter()
    out = train_run(prepare(config, dataset=ds), emit=lambda *_: None, should_stop=lambda: False)
    keys = ("test_accuracy", "teacher_test_accuracy", "unlabelled_items", "n_test", "epochs")
    row = {"data": data, "model": model, "per_class": per_class, "strategy": strategy, "seed": seed,
           "max_steps": MAX_STEPS.get(case), **{k: out.summary[k] for k in keys if k in out.summary},
           "wall_seconds": round(time.perf_counter() - started, 1)}
    print("RUN " + json.dumps(row), file=sys.stderr, flush=True)
    return row


def evaluate(case: tuple[str, str], per_class: int, seeds: int, epochs: int | None) -> list[dict[str, Any]]:
    """Seeds in turn, each from scratch then distilled, so a cut-short bench still has pairs."""
    from tlcore.data import load_source

    ds = load_source(case[0], full_check=True)
    return [one_run(ds, case, s, seed, per_class, epochs) for seed in range(seeds) for s in ("scratch", "distill")]


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (data, model): the intervals over seeds of scratch, distillation and the teacher."""
    from tlcore.core.stats import mean_interval

    out = []
    for case in dict.fromkeys((r["data"], r["model"]) for r in rows):
        here = [r for r in rows if (r["data"], r["model"]) == case]
        taught = [r for r in here if r["strategy"] == "distill"]
        scratch = [r for r in here if r["strategy"] == "scratch"]
        columns = {"scratch": [r["test_accuracy"] for r in scratch], "distill": [r["test_accuracy"] for r in taught],
                   "teacher": [r["teacher_test_accuracy"] for r in taught]}
        out.append({"data": case[0], "model": case[1], "per_class": here[0]["per_class"],
                    "max_steps": here[0]["max_steps"], "unlabelled_items": [r["unlabelled_items"] for r in taught],
                    "n_test": here[0]["n_test"], "seeds": {s: len(v) for s, v in columns.items()},
                    "wall_seconds": {s: _mean([r["wall_seconds"] for r in v]) for s, v in
                                     (("scratch", scratch), ("distill", taught))},
                    **{k: mean_interval(v).to_dict() for k, v in columns.items()}})
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _cell(interval: dict[str, Any]) -> str:
    if interval["n"] == 0:
        return "—"
    if interval["low"] is None:
        return f"{interval['mean']:.3f}"
    return f"{interval['mean']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def render(results: list[dict[str, Any]]) -> str:
    lines = ["| data (model) | labelled / class | unlabelled items (distillation only) | from scratch | "
             "distillation | teacher (linear probe) | distillation − scratch | seeds (scratch / distill) | "
             "s per run (scratch / distill) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        cap = f", ≤{r['max_steps']} steps" if r["max_steps"] else ""
        extra = sorted(set(r["unlabelled_items"]))
        gain = 100 * (r["distill"]["mean"] - r["scratch"]["mean"])
        lines.append(f"| {r['data']} ({r['model']}{cap}) | {r['per_class']} | "
                     f"{'–'.join(str(e) for e in extra[::max(1, len(extra) - 1)]) or '—'} | {_cell(r['scratch'])} | "
                     f"{_cell(r['distill'])} | {_cell(r['teacher'])} | "
                     f"{f'{gain:+.1f} points' if gain == gain else '—'} | "
                     f"{r['seeds']['scratch']} / {r['seeds']['distill']} | "
                     f"{' / '.join(f'{v:.0f}' if v == v else '—' for v in r['wall_seconds'].values())} |")
    lines.append("\nMean test accuracy over the seeds [95 % t-interval], same split (split_seed=0) and test items for "
                 "every column; the teacher is fitted inside each distillation run on its labelled items.")
    return "\n".join(lines)


def rows_from_log(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as log:
        return [json.loads(line[4:]) for line in log if line.startswith("RUN {")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.table_from:
        print(render(summarize(rows_from_log(args.table_from))))
        return 0
    cases = [tuple(c.strip().split(":", 1)) for c in
             ("tux-photos:mobilenet_v2" if args.quick else args.cases).split(",") if c.strip()]
    if any(len(c) != 2 for c in cases):
        print("Each case is DATA:MODEL, e.g. tux-photos:mobilenet_v2.", file=sys.stderr)
        return 2
    seeds = args.seeds or (1 if args.quick else 3)
    rows = [row for case in cases for row in evaluate(case, args.per_class, seeds, 2 if args.quick else None)]
    results = summarize(rows)
    print(json.dumps({"mode": "quick" if args.quick else "full", "results": results}, indent=1) if args.json
          else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
