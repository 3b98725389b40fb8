"""Comparison analysis: turn the runs of one comparison (a `group_id`) into tables for charts and exports.

Pure data (pandas), no Streamlit: the Compare page and the CLI both use it. Per-class and per-example tables,
which read the runs' saved predictions, are in `tlcore.experiments.per_example`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tlcore.core import strategies
from tlcore.core.csvsafe import write_csv
from tlcore.core.errors import UserError
from tlcore.data import library
from tlcore.experiments import verdict as gap
from tlcore.experiments.summary import run_rows, summarize
from tlcore.runs.store import ACTIVE, RunRecord, RunStore, Scope

CURVE_COLUMNS = ["run_id", "strategy", "seed", "epoch", "elapsed", "val_acc", "val_loss", "train_loss"]
CSV_COLUMNS = ["run_id", "strategy", "seed", "status", "test_accuracy", "macro_f1", "ece", "n_train", "n_test",
               "epochs", "wall_seconds", "trainable_params"]
label = strategies.label


def succeeded(records: Iterable[RunRecord], strategy: str | None = None) -> list[RunRecord]:
    return [r for r in records if r.status == "succeeded" and r.result
            and (strategy is None or r.config.get("strategy") == strategy)]


# -- which runs -------------------------------------------------------------------------------------------
def comparison_records(store: RunStore, group_id: str, *, owner: Scope) -> list[RunRecord]:
    """Every run of a comparison (with `owner`: of that workspace only), ordered by seed, then strategy."""
    records = store.list_runs(group_id=group_id, owner=owner, limit=100_000)
    return sorted(records, key=lambda r: (r.config.get("seed", 0), strategies.order(r.config.get("strategy", "")),
                                          r.created))


def recent_comparisons(store: RunStore, *, owner: Scope, limit: int = 2000) -> list[dict[str, Any]]:
    """Distinct comparisons (group ids) among the latest runs, newest first (see `group_summaries`)."""
    return group_summaries(store.list_runs(owner=owner, limit=limit))


def group_summaries(records: Iterable[RunRecord]) -> list[dict[str, Any]]:
    """Per group id, newest first: group_id, name (readable), created, runs, active, strategies."""
    groups: dict[str, dict[str, Any]] = {}
    for r in records:
        if not r.group_id:
            continue
        g = groups.setdefault(r.group_id, {"group_id": r.group_id, "name": _comparison_name(r), "created": r.created,
                                           "runs": 0, "active": 0, "strategies": set()})
        g["created"] = max(g["created"], r.created)
        g["runs"] += 1
        g["active"] += r.status in ACTIVE
        g["strategies"].add(r.config.get("strategy", ""))
    out = sorted(groups.values(), key=lambda g: -g["created"])
    for g in out:
        g["strategies"] = sorted(g["strategies"], key=strategies.order)
    return out


def _comparison_name(r: RunRecord) -> str:
    """Run names look like "model on data: strategy (seed n)"; the comparison is the part before the colon.
    A run renamed to nothing falls back to the model and the data's name, never to where the data is stored."""
    name = r.name.rsplit(": ", 1)[0] if r.name else ""
    return name or f"{r.config.get('model', '?')} on {safe_data_name(r.config)}"


def safe_data_name(config: dict[str, Any]) -> str:
    """The data as the run's config names it for people: an upload's file name, a built-in's id, or the last
    part of a command-line path."""
    data = str(config.get("data", "?"))
    return config.get("data_name") or ("an upload" if data.startswith(library.PREFIX) else Path(data).name)


def status_counts(records: list[RunRecord]) -> dict[str, int]:
    """How many runs are finished well, still active (queued/starting/running), or ended without a result."""
    active = sum(r.status in ACTIVE for r in records)
    done = len(succeeded(records))
    return {"total": len(records), "succeeded": done, "active": active, "unsuccessful": len(records) - done - active}



def describe(records: list[RunRecord]) -> dict[str, str]:
    """What a comparison (or a study's runs) is about, in words for someone who was not there: dataset,
    examples, classes, model, strategies, repeats and date. Only names people gave or chose, never a workspace
    id or a server path."""
    first = records[0].config if records else {}
    done = succeeded(records)  # the largest training set: a study's "all" cell, any run of a comparison
    result = max((r.result for r in done), key=lambda res: res.get("n_train") or 0, default={})
    sizes = {k: result.get(k) for k in ("n_train", "n_val", "n_test")}
    seeds = sorted({r.config.get("seed") for r in records})
    examples = "not known yet (no run has finished)"
    if all(isinstance(v, int) for v in sizes.values()):
        examples = (f"{sum(sizes.values()):,} used ({sizes['n_train']:,} to train on, {sizes['n_val']:,} to check "
                    f"progress, {sizes['n_test']:,} held back to test)")
    return {"Dataset": safe_data_name(first), "Examples": examples,
            "Classes": str(result.get("num_classes") or "not known yet"), "Model": _model_title(first.get("model")),
            "Strategies": ", ".join(strategies.title(s) for s in sorted({r.config.get("strategy", "") for r in records},
                                                                         key=strategies.order)),
            "Repeats": f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} (each a different random split and start)",
            "Date": time.strftime("%d %b %Y", time.gmtime(max((r.created for r in records), default=0)))}


def _model_title(model_id: Any) -> str:
    from tlcore.models import get_spec  # here, not at the top: the model registry imports torch

    try:
        return get_spec(str(model_id)).title
    except UserError:
        return str(model_id or "?")


# -- learning curves ----------------------------------------------------------------------------------------
def curves_frame(store: RunStore, records: list[RunRecord]) -> pd.DataFrame:
    """One row per run × epoch (unfinished runs contribute the epochs they have so far)."""
    rows = []
    for r in records:
        for e in store.epochs(r.id):
            rows.append({"run_id": r.id, "strategy": r.config.get("strategy"), "seed": r.config.get("seed"),
                         "epoch": int(e["epoch"]), "elapsed": _num(e.get("elapsed")), "val_acc": _num(e.get("val_acc")),
                         "val_loss": _num(e.get("val_loss")), "train_loss": _num(e.get("train_loss"))})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def _num(value: Any) -> float:
    return float(value) if value is not None else math.nan


def seed_bands(frame: pd.DataFrame, x: str = "epoch", y: str = "val_acc") -> pd.DataFrame:
    """Per strategy and x: the mean of `y` over seeds, with the range over seeds (min to max) as the band.

    Curves show the range, not a t-interval: with 2-3 seeds a per-epoch t-band is 4-13 standard errors wide
    and covers the whole axis, hiding a gap that every seed shows. Final accuracies keep their t-intervals.

    x="epoch" groups by epoch number; x="elapsed" aligns the seeds on their own epochs and places each epoch at
    the mean elapsed time of that epoch over seeds. Accuracy bands are clipped to [0, 1].
    Columns: strategy, <x>, mean, low, high, n.
    """
    if x not in ("epoch", "elapsed"):
        raise ValueError(f"x must be 'epoch' or 'elapsed', not {x!r}")
    columns = ["strategy", x, "mean", "low", "high", "n"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (strategy, epoch), part in frame.groupby(["strategy", "epoch"], sort=False):
        values = part[y].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        mean, low, high = ((float(values.mean()), float(values.min()), float(values.max())) if len(values)
                           else (math.nan, math.nan, math.nan))
        position = int(epoch) if x == "epoch" else float(part["elapsed"].mean())
        rows.append({"strategy": strategy, x: position, "mean": mean, "low": low, "high": high,
                     "n": int(part[y].notna().sum()), "_order": strategies.order(strategy)[0], "_epoch": int(epoch)})
    out = pd.DataFrame(rows).sort_values(["_order", "strategy", "_epoch"])
    return out[columns].reset_index(drop=True)



# -- final results --------------------------------------------------------------------------------------------
def final_frame(records: list[RunRecord]) -> pd.DataFrame:
    """Per strategy: mean test accuracy with its 95 % interval over seeds, and the cost (see `summary`)."""
    return summarize(run_rows(records), by=("strategy",))


def best_transfer(final: pd.DataFrame) -> str | None:
    """The non-scratch strategy with the highest mean test accuracy (None when there is none)."""
    return gap.best_transfer(final)


def verdict(final: pd.DataFrame) -> str:
    """One sentence in plain words: how the best transfer strategy did against training from scratch."""
    if final.empty:
        return "No run of this comparison has finished yet."
    return gap.gap_verdict(final).sentence


def distillation_note(records: list[RunRecord]) -> str | None:
    """What a distillation result rests on, to be said wherever it is shown (None without a finished one): its
    teacher's test accuracy, and how many training items it learned from without their labels, which from
    scratch did not get."""
    runs = [r for r in succeeded(records, "distill") if "teacher_test_accuracy" in r.result]
    if not runs:
        return None
    teacher = float(np.mean([r.result["teacher_test_accuracy"] for r in runs]))
    extra = sorted({int(r.result.get("unlabelled_items") or 0) for r in runs})
    items = str(extra[0]) if len(extra) == 1 else f"{extra[0]}–{extra[-1]}"
    taught = (f"{label('distill').capitalize()} was taught by a linear probe on the pretrained features that reached "
              f"{100 * teacher:.0f}% test accuracy itself")
    if extra[-1] == 0:
        return taught + "; it learned from the same labelled examples as from scratch, nothing more."
    return (taught + f". It also learned from the teacher's answers on {items} training examples whose labels it "
            "never saw (left out by the per-class limit): from scratch did not get those examples.")


def models_to_try(records: list[RunRecord]) -> list[RunRecord]:
    """The finished runs of the lowest seed that trained a model (nearest neighbours trains none), in strategy
    order: what a share link's viewer may try on an example of their own."""
    usable = [r for r in succeeded(records)
              if r.config.get("strategy") in strategies.IDS and strategies.get(r.config["strategy"]).solver != "knn"]
    if not usable:
        return []
    seed = min(r.config.get("seed", 0) for r in usable)
    return sorted((r for r in usable if r.config.get("seed", 0) == seed),
                  key=lambda r: strategies.order(r.config["strategy"]))


# -- export ---------------------------------------------------------------------------------------------------
def metrics_csv(records: list[RunRecord]) -> str:
    """One CSV row per run (unfinished runs have empty metrics); formula-like cells are neutralised."""
    return write_csv(({"run_id": r.id, "strategy": r.config.get("strategy"), "seed": r.config.get("seed"),
                       "status": r.status, **{k: (r.result or {}).get(k) for k in CSV_COLUMNS[4:]}}
                      for r in records), CSV_COLUMNS)
