"""`python -m bench.ranking`: does the model ranking agree with what training then measures?

For every built-in dataset with at least two offline models of its kind: the ranking's scores (LogME, k-NN)
next to each model's measured test accuracy as a linear probe and as a fine-tune (capped at `--finetune-steps`
optimisation steps, said in the table), over `--seeds` seeds on one fixed split (the one the ranking scored),
with Kendall's τ between LogME and each accuracy and whether the top-ranked model is within 2 points of the
best measured one. Training sets are capped per class (the table says so) to keep a CPU run to hours, not days.

    python -m bench.ranking                    # all datasets, 3 seeds (CPU-heavy: run it on a quiet machine)
    python -m bench.ranking --quick --json     # smoke check: digits, 2 models, 1 seed, 5 per class, 2 steps
    python -m bench.ranking --timing           # ranking tux-photos cold (fresh caches) and warm, side by side
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PER_CLASS = {"tux-photos": None, "digits": 20, "mnist-5k": 20, "fashion-mnist": 20, "bbc-news": 10,
             "rotten-tomatoes": 50}  # training examples per class (None: all)
QUICK = {"digits": 5}
QUICK_MODELS = ["mobilenet_v2", "efficientnet_lite0"]
WITHIN = 0.02  # "the top-ranked model is within 2 points of the best"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ranking", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke check: digits, 2 models, 1 seed, 2 steps")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--seeds", type=int, help="seeds per model and strategy (default 3; quick 1)")
    parser.add_argument("--finetune-steps", type=int, help="cap on fine-tune optimisation steps (default 150; "
                        "quick 2)")
    parser.add_argument("--data", help="comma-separated dataset ids (default: every built-in one)")
    parser.add_argument("--timing", action="store_true", help="only time ranking the data (default tux-photos) "
                        "cold and warm in one process, and the scores with 1 vs default BLAS threads")
    return parser.parse_args(argv)


def measured_accuracy(ds: Any, data: str, model: str, strategy: str, seed: int, per_class: int | None,
                      max_steps: int | None) -> float:
    from tlcore.core.config import TrainConfig
    from tlcore.train import prepare, train_run

    config = TrainConfig(data=data, model=model, strategy=strategy, seed=seed, split_seed=0, per_class=per_class,
                         max_steps=max_steps if strategy == "finetune" else None, device="cpu")
    out = train_run(prepare(config, dataset=ds), emit=lambda *_: None, should_stop=lambda: False)
    return float(out.summary["test_accuracy"])


def evaluate(data: str, per_class: int | None, seeds: int, steps: int, models: list[str] | None) -> dict[str, Any]:
    """One dataset: the ranking, then every ranked model trained both ways; τ and the top-model check."""
    import numpy as np
    from scipy.stats import kendalltau

    from tlcore.core.errors import UserError
    from tlcore.data import load_source
    from tlcore.experiments import ranking

    try:
        ds = load_source(data, full_check=True)
        specs, _ = ranking.candidates(ds.modality, models)
    except UserError as exc:  # not installed here, or no offline model of its kind
        return {"data": data, "skipped": str(exc)}
    if len(specs) < 2:
        return {"data": data, "skipped": f"only {len(specs)} offline {ds.modality} model(s)"}
    result = ranking.rank_models(data, {"seed": 0, "per_class": per_class}, model_ids=[s.id for s in specs],
                                 dataset=ds)
    rows = []
    for m in result.models:
        accuracy = {s: [measured_accuracy(ds, data, m.model_id, s, seed, per_class, steps) for seed in range(seeds)]
                    for s in ("linear_probe", "finetune")}
        rows.append({"model": m.model_id, "verdict": m.verdict, "logme": m.logme, "knn_loo": m.knn_loo,
                     "probe": float(np.mean(accuracy["linear_probe"])),
                     "finetune": float(np.mean(accuracy["finetune"])),
                     "probe_seeds": accuracy["linear_probe"], "finetune_seeds": accuracy["finetune"]})
    out: dict[str, Any] = {"data": data, "per_class": per_class, "n_train": result.n_train, "seeds": seeds,
                           "finetune_max_steps": steps, "ranking_seconds": result.seconds, "models": rows}
    for strategy in ("probe", "finetune"):
        measured = [r[strategy] for r in rows]
        tau = kendalltau([r["logme"] for r in rows], measured).statistic
        out[f"tau_{strategy}"] = None if np.isnan(tau) else float(tau)
        out[f"top_within_2_points_{strategy}"] = bool(max(measured) - rows[0][strategy] <= WITHIN + 1e-9)
        tied = [r[strategy] for r in rows if r["verdict"] != "behind"]  # the ranking's "best" and its ties
        out[f"a_tied_top_within_2_points_{strategy}"] = bool(max(measured) - max(tied) <= WITHIN + 1e-9)
    return out


def timing(data: str) -> dict[str, Any]:
    """Cold: fresh caches (decode, model builds, frozen passes, scores), as the CLI's first `rank` (wall and CPU
    seconds of all threads: the CPU seconds hardly change with the load on the box, the wall time does); warm: the
    page's path (dataset loaded, features cached, scores only, median of 3). Then the scores alone with one BLAS
    thread (what the ranking uses) and with BLAS's default thread count. One process, side by side."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="tlab-rank-bench-")
    os.environ["TLAB_DATA_DIR"] = folder
    try:
        return _timed(data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _timed(data: str) -> dict[str, Any]:
    import time

    import numpy as np

    from tlcore.data import load_source
    from tlcore.experiments import ranking

    started, cpu = time.perf_counter(), time.process_time()
    cold = ranking.rank_models(data)
    cold_s, cold_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    ds = load_source(data)
    warm_s = []
    for _ in range(3):
        t0 = time.perf_counter()
        ranking.rank_models(data, dataset=ds, cached_only=True)
        warm_s.append(time.perf_counter() - t0)
    scores_s = scores_by_blas_threads(data, ds, [m.model_id for m in cold.models])
    return {"data": data, "models": [m.model_id for m in cold.models], "cold_s": round(cold_s, 2),
            "cold_cpu_s": round(cold_cpu_s, 2),
            "warm_s": round(float(np.median(warm_s)), 2), "scores_1_blas_thread_s": round(scores_s[1], 2),
            "scores_default_blas_threads_s": round(scores_s[None], 2),
            "blas_1_thread_speedup": round(scores_s[None] / scores_s[1], 2),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()}


def scores_by_blas_threads(data: str, ds: Any, models: list[str]) -> dict[int | None, float]:
    """Seconds the ranking's scores take on the cached features with 1 BLAS thread and with BLAS's default."""
    import time

    from tlcore.core.config import TrainConfig
    from tlcore.core.transferability import paired_scores
    from tlcore.experiments import ranking
    from tlcore.train import prepare

    preps = [prepare(TrainConfig(data=data, model=m), dataset=ds) for m in models]
    rows = ranking.scored_rows(preps[0])
    features = {p.spec.id: ranking.frozen_features(p, None, cached_only=True)[0][rows] for p in preps}
    seconds: dict[int | None, float] = {}
    for threads in (1, None):
        t0 = time.perf_counter()
        paired_scores(features, ds.labels[rows], resamples=ranking.RESAMPLES, blas_threads=threads)
        seconds[threads] = time.perf_counter() - t0
    return seconds


def _tau(tau: float | None) -> str:
    return "n/a (a constant column)" if tau is None else f"{tau:+.2f}"


def render(results: list[dict[str, Any]]) -> str:
    lines = ["| data (train cap) | model | ranking | LogME | k-NN LOO | probe acc | fine-tune acc (capped) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['data']} | skipped: {r['skipped']} | | | | | |")
            continue
        cap = f"{r['per_class']}/class" if r["per_class"] else "all"
        for m in r["models"]:
            lines.append(f"| {r['data']} ({cap}) | {m['model']} | {m['verdict']} | {m['logme']:.3f} | "
                         f"{m['knn_loo']:.2f} | {m['probe']:.3f} | {m['finetune']:.3f} (≤{r['finetune_max_steps']} "
                         "steps) |")
        lines.append(f"| {r['data']} | Kendall τ (LogME vs probe / fine-tune): {_tau(r['tau_probe'])} / "
                     f"{_tau(r['tau_finetune'])}; top-ranked within 2 points: {r['top_within_2_points_probe']} / "
                     f"{r['top_within_2_points_finetune']}; one of the tied top within 2 points: "
                     f"{r['a_tied_top_within_2_points_probe']} / {r['a_tied_top_within_2_points_finetune']} "
                     "| | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.timing:
        times = timing(args.data or "tux-photos")
        print(json.dumps(times, indent=1) if args.json else "\n".join(f"{k}: {v}" for k, v in times.items()))
        return 0
    caps = QUICK if args.quick else PER_CLASS
    chosen = [d.strip() for d in args.data.split(",")] if args.data else list(caps)
    seeds = args.seeds or (1 if args.quick else 3)
    steps = args.finetune_steps or (2 if args.quick else 150)
    results = [evaluate(d, caps.get(d), seeds, steps, QUICK_MODELS if args.quick else None) for d in chosen]
    print(json.dumps({"mode": "quick" if args.quick else "full", "results": results}, indent=1) if args.json
          else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
