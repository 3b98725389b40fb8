"""The numbers of a study: per-cell results, mean and 95 % interval per (strategy, size), the paired test
between scratch and the best transfer strategy at each size, and the "data multiplier"."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tlcore.core.stats import paired_sign_test
from tlcore.core.strategies import label
from tlcore.experiments.summary import run_rows, summarize
from tlcore.experiments.verdict import FAIR_SEEDS, best_transfer, gap_verdict
from tlcore.runs.paths import read_artifact
from tlcore.runs.store import RunRecord


def cells_frame(records: list[RunRecord]) -> pd.DataFrame:
    """One row per run of the study (see `summary.run_rows`)."""
    return run_rows(records)


def summary_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Per strategy and size: mean test accuracy with a 95 % t-interval over seeds, and the cost."""
    return summarize(cells, by=("strategy", "k_label"))


def _order_k(k: Any) -> float:
    return math.inf if k is None or (isinstance(k, float) and math.isnan(k)) else float(k)


def best_transfer_at(summary: pd.DataFrame, k_label: str) -> str | None:
    return best_transfer(summary[summary["k_label"] == k_label])


def _correctness(run_ids: list[str]) -> np.ndarray | None:
    """[runs, test items] 0/1, items in index order; None if an artifact is missing or the test sets differ."""
    rows, index = [], None
    for run_id in run_ids:
        preds = read_artifact(run_id, "predictions.json")
        if not preds:
            return None
        preds = sorted(preds, key=lambda p: p["index"])
        idx = [p["index"] for p in preds]
        if index is not None and idx != index:
            return None
        index = idx
        rows.append([p["true"] == p["pred"] for p in preds])
    return np.asarray(rows, dtype=float) if rows else None


def paired_tests(cells: pd.DataFrame, summary: pd.DataFrame) -> list[dict[str, Any]]:
    """At each size: scratch vs the best transfer strategy, on the seeds both finished, same test items."""
    out = []
    done = cells[cells["status"] == "succeeded"]
    for k_label in _k_labels(summary):
        transfer = best_transfer_at(summary, k_label)
        here = done[done["k_label"] == k_label]
        seeds = sorted(set(here[here["strategy"] == "scratch"]["seed"])
                       & set(here[here["strategy"] == transfer]["seed"]))
        if transfer is None or not seeds:
            continue
        ids = {s: [here[(here["strategy"] == s) & (here["seed"] == seed)]["run_id"].iloc[0] for seed in seeds]
               for s in (transfer, "scratch")}
        a, b = _correctness(ids[transfer]), _correctness(ids["scratch"])
        if a is None or b is None or a.shape != b.shape:
            continue
        test = paired_sign_test(a, b)
        out.append({"k_label": k_label, "transfer": transfer, "seeds": seeds, **test.to_dict()})
    return out


def size_verdicts(summary: pd.DataFrame, tests: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per size, smallest first: the one verdict (`verdict.gap_verdict`) on the best transfer strategy against
    from-scratch, which weighs the 95 % intervals and, where `tests` has it, the paired test of that size."""
    by_size = {t["k_label"]: t for t in tests or []}
    out = []
    for k_label in _k_labels(summary):
        rows = summary[summary["k_label"] == k_label]
        transfer = best_transfer(rows)
        if "scratch" not in set(rows["strategy"]) or transfer is None:
            continue
        test = by_size.get(k_label)
        out.append({"k_label": k_label, "transfer": transfer, "test": test, "verdict": gap_verdict(rows, test)})
    return out


def _k_labels(summary: pd.DataFrame) -> list[str]:
    pairs = summary[["k_label", "per_class"]].drop_duplicates("k_label").itertuples(index=False)
    return [p.k_label for p in sorted(pairs, key=lambda p: _order_k(p.per_class))]


def data_multiplier(summary: pd.DataFrame, at_k: str | None = None) -> dict[str, Any] | None:
    """How many examples per class scratch needs to match the best transfer strategy at `at_k` per class
    (default: 10 if studied, else the middle size), interpolated on the log scale of the scratch curve."""
    labels = [k for k in _k_labels(summary) if k != "all"]
    if not labels or "scratch" not in set(summary["strategy"]):
        return None
    at_k = at_k if at_k in labels else ("10" if "10" in labels else labels[len(labels) // 2])
    transfer = best_transfer_at(summary, at_k)
    if transfer is None:
        return None
    row = summary[(summary["strategy"] == transfer) & (summary["k_label"] == at_k)].iloc[0]
    target, x_at = float(row["accuracy"]), float(row["x"])
    curve = summary[summary["strategy"] == "scratch"].sort_values("x")
    xs, ys = curve["x"].to_numpy(float), np.maximum.accumulate(curve["accuracy"].to_numpy(float))
    out = {"transfer": transfer, "at_k": at_k, "target": target, "scratch_per_class": None, "multiplier": None}
    name = label(transfer)
    if not len(ys) or ys[-1] < target:
        best = f"{ys[-1]:.0%}" if len(ys) else "nothing"
        return dict(out, text=f"{name} with {at_k} per class reaches {target:.0%}; from scratch never gets there "
                    f"within this data (its best is {best} with {xs[-1]:.0f} per class)." if len(ys) else "")
    i = int(np.argmax(ys >= target))
    if i == 0:
        needed = xs[0]
    else:
        t = (target - ys[i - 1]) / (ys[i] - ys[i - 1])
        needed = float(np.exp(np.log(xs[i - 1]) + t * (np.log(xs[i]) - np.log(xs[i - 1]))))
    multiplier = needed / x_at
    return dict(out, scratch_per_class=needed, multiplier=multiplier,
                text=f"{name} with {at_k} per class ({target:.0%}) matches from scratch with about {needed:.0f} "
                     f"per class: about {multiplier:.1f}× the data.")


def per_class_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Recall of each class, mean over seeds, per strategy and size (for per-class curves on demand)."""
    rows = []
    for r in cells[cells["status"] == "succeeded"].itertuples(index=False):
        evaluation = read_artifact(r.run_id, "evaluation.json") or {}
        for name, m in (evaluation.get("per_class") or {}).items():
            rows.append({"strategy": r.strategy, "k_label": r.k_label, "x": r.x, "class": name,
                         "recall": m["recall"]})
    frame = pd.DataFrame(rows, columns=["strategy", "k_label", "x", "class", "recall"])
    return frame.groupby(["strategy", "k_label", "class"], as_index=False).agg(x=("x", "mean"),
                                                                             recall=("recall", "mean"))


def headline(verdicts: list[dict[str, Any]]) -> str:
    """One sentence from the per-size verdicts (`size_verdicts`): is transfer ahead at every size, and from
    which size on is it clearly ahead at every larger size too (a gap that is clear the other way is not)."""
    if not verdicts:
        return "Add from-scratch and a transfer strategy, and let one size finish both, to compare them."
    behind = [v["k_label"] for v in verdicts if not v["verdict"].ahead]
    text = ("Transfer is ahead at every size studied." if not behind else
            f"Transfer is not ahead at {', '.join(behind)} per class.")
    clear = [v["verdict"].clear and v["verdict"].ahead for v in verdicts]
    first_clear = next((v["k_label"] for i, v in enumerate(verdicts) if all(clear[i:])), None)
    if first_clear:
        text += f" It is clearly ahead from {first_clear} per class on."
    else:
        text += f" At {verdicts[-1]['k_label']} per class transfer is not clearly ahead (see below)."
    seeds = min(v["verdict"].seeds for v in verdicts)
    if seeds == 1:
        text += f" With 1 seed per size there are no 95 % bands; {FAIR_SEEDS} or more seeds give them."
    elif seeds < FAIR_SEEDS:
        text += (f" With {seeds} seeds per size the 95 % bands are very wide; "
                 f"{FAIR_SEEDS} or more give a fairer picture.")
    return text


def study_json(cells: pd.DataFrame) -> dict[str, Any]:
    """Per strategy and size: mean, interval, per-seed accuracies; the paired tests; the multiplier."""
    summary = summary_frame(cells)
    tests = paired_tests(cells, summary)
    verdicts = size_verdicts(summary, tests)
    results: dict[str, dict[str, Any]] = {}
    for row in summary.itertuples(index=False):
        results.setdefault(row.strategy, {})[row.k_label] = {
            "examples_per_class": row.x, "mean": row.accuracy, "low": _none(row.low), "high": _none(row.high),
            "n": row.n,
            "per_seed": dict(zip(map(str, row.seeds), row.values)), "wall_seconds_mean": row.wall_seconds,
            "trainable_params": row.trainable_params, "epochs_capped": row.capped}
    return {"headline": headline(verdicts), "results": results, "paired_tests": tests,
            "verdicts": {v["k_label"]: v["verdict"].sentence for v in verdicts},
            "data_multiplier": data_multiplier(summary),
            "status": cells["status"].value_counts().to_dict()}


def _none(value: float) -> float | None:
    return None if pd.isna(value) else float(value)
