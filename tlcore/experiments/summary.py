"""The one summary path of comparisons and studies: a row per run, then mean test accuracy with its 95 %
interval over seeds (and the cost) per group — per strategy for a comparison, per strategy and size for a
study. The CLI, the pages and the reports all read these frames."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tlcore.core import strategies
from tlcore.core.stats import mean_interval
from tlcore.runs.store import RunRecord

RUN_COLUMNS = ["run_id", "strategy", "per_class", "k_label", "seed", "status", "error", "test_accuracy",
               "macro_f1", "ece", "wall_seconds", "train_seconds", "trainable_params", "n_train", "n_test",
               "epochs", "capped", "x"]
SUMMARY_COLUMNS = ["strategy", "label", "k_label", "per_class", "accuracy", "low", "high", "n", "values", "seeds",
                   "macro_f1", "wall_seconds", "trainable_params", "capped", "x"]


def per_class_label(k: int | None) -> str:
    return "all" if k is None else str(k)


def run_rows(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per run; `x` is the mean number of training examples per class it used."""
    rows = []
    for r in records:
        res = r.result or {}
        k, n_classes = r.config.get("per_class"), res.get("num_classes")
        rows.append({
            "run_id": r.id, "strategy": r.config.get("strategy"), "per_class": k, "k_label": per_class_label(k),
            "seed": r.config.get("seed"), "status": r.status, "error": r.error,
            **{key: res.get(key) for key in ("test_accuracy", "macro_f1", "ece", "wall_seconds", "train_seconds",
                                            "trainable_params", "n_train", "n_test", "epochs")},
            "capped": bool(res.get("epochs_capped")),
            "x": res["n_train"] / n_classes if n_classes and res.get("n_train") else None})
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def summarize(rows: pd.DataFrame, by: tuple[str, ...] = ("strategy",)) -> pd.DataFrame:
    """Per group of `by` (finished runs only): mean test accuracy with its 95 % t-interval over seeds (NaN
    bounds with one seed), each seed's value, mean macro-F1, wall time and trainable parameters. Groups come
    in registry order of their strategy, then by size."""
    done = rows[rows["status"] == "succeeded"]
    out = [_group_row(dict(zip(by, key if isinstance(key, tuple) else (key,))), group)
           for key, group in done.groupby(list(by), sort=False, dropna=False)]
    frame = pd.DataFrame(out, columns=list(dict.fromkeys([*by, *SUMMARY_COLUMNS])))
    if frame.empty:
        return frame
    frame["_order"] = frame["strategy"].map(lambda s: strategies.order(s)[0])
    return frame.sort_values(["_order", "x"]).drop(columns="_order").reset_index(drop=True)


def _group_row(keys: dict[str, Any], group: pd.DataFrame) -> dict[str, Any]:
    interval = mean_interval(group["test_accuracy"].astype(float).tolist())
    strategy = keys.get("strategy", group["strategy"].iloc[0])
    return {**keys, "strategy": strategy, "label": strategies.label(strategy), "k_label": group["k_label"].iloc[0],
            "per_class": group["per_class"].iloc[0], "accuracy": interval.mean,
            "low": math.nan if interval.low is None else interval.low,
            "high": math.nan if interval.high is None else interval.high, "n": interval.n,
            "values": interval.values, "seeds": group["seed"].tolist(),
            "macro_f1": _mean(group["macro_f1"]), "wall_seconds": _mean(group["wall_seconds"]),
            "trainable_params": int(group["trainable_params"].iloc[0] or 0),
            "capped": bool(group["capped"].any()), "x": _mean(group["x"])}


def _mean(values: pd.Series) -> float:
    vals = pd.to_numeric(values, errors="coerce").dropna()
    return float(vals.mean()) if len(vals) else math.nan


def has_interval(row: Any) -> bool:
    """Whether a summary row has a 95 % interval (two or more seeds finished)."""
    return not (pd.isna(row["low"]) or pd.isna(row["high"]))


def summary_json(summary: pd.DataFrame, rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per strategy, for the CLI's --json: the interval, the seeds' values, the cost, and how many of its
    runs (`rows`) finished."""
    out = {}
    runs = rows.groupby("strategy")["status"].agg(runs="size", succeeded=lambda s: int((s == "succeeded").sum()))
    for row in summary.to_dict("records"):
        out[row["strategy"]] = {
            "test_accuracy": {"mean": row["accuracy"], "low": _none(row["low"]), "high": _none(row["high"]),
                              "n": row["n"], "values": row["values"]},
            "macro_f1_mean": _none(row["macro_f1"]), "wall_seconds_mean": _none(row["wall_seconds"]),
            "trainable_params": row["trainable_params"], "seeds": row["seeds"],
            "runs": int(runs.loc[row["strategy"], "runs"]), "succeeded": int(runs.loc[row["strategy"], "succeeded"])}
    return out


def _none(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value
