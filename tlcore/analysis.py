"""Comparison analysis: turn the runs of one comparison (a `group_id`) into tables for charts and exports.

Pure data (pandas), no Streamlit: the Compare page and the CLI can both use it. Artifacts are read from the
run folders (`<data dir>/runs/<run_id>/…`, the layout of `tlcore.runs.artifacts`) without importing that
module, which pulls in torch and the model libraries. A run whose files are gone (deleted run) is skipped
and listed in the returned frame's `attrs["missing"]`, so callers can say so in plain words.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

from tlcore.config import STRATEGIES
from tlcore.csvsafe import write_csv
from tlcore.runs.paths import read_json
from tlcore.runs.store import ACTIVE, RunRecord, RunStore
from tlcore.stats import mean_interval

STRATEGY_ORDER = list(STRATEGIES)
STRATEGY_LABELS = {"scratch": "from scratch", "linear_probe": "linear probe", "finetune": "fine-tune",
                   "gradual": "gradual unfreezing", "lora": "LoRA"}
CURVE_COLUMNS = ["run_id", "strategy", "seed", "epoch", "elapsed", "val_acc", "val_loss", "train_loss"]
FINAL_COLUMNS = ["strategy", "label", "accuracy", "low", "high", "seeds", "macro_f1", "wall_seconds",
                 "trainable_params"]
GAIN_COLUMNS = ["class", "scratch", "transfer", "gain", "support"]
DISAGREEMENT_COLUMNS = ["seed", "index", "name", "true", "scratch_pred", "transfer_pred", "kind"]
CSV_COLUMNS = ["run_id", "strategy", "seed", "status", "test_accuracy", "macro_f1", "ece", "n_train", "n_test",
               "epochs", "wall_seconds", "trainable_params"]
TRANSFER_WINS, SCRATCH_WINS = "transfer wins", "scratch wins"


def label(strategy: str) -> str:
    """Plain-words name of a strategy ("linear probe")."""
    return STRATEGY_LABELS.get(strategy, strategy.replace("_", " "))


def _strategy_key(strategy: str) -> tuple[int, str]:
    return (STRATEGY_ORDER.index(strategy) if strategy in STRATEGY_ORDER else len(STRATEGY_ORDER), strategy)


def _succeeded(records: Iterable[RunRecord], strategy: str | None = None) -> list[RunRecord]:
    return [r for r in records if r.status == "succeeded" and r.result
            and (strategy is None or r.config.get("strategy") == strategy)]


def read_artifact(run_id: str, name: str) -> Any | None:
    """A run's JSON artifact, or None when the file is missing or unreadable (e.g. the run was deleted)."""
    try:
        return read_json(run_id, name)
    except (OSError, ValueError):
        return None


# -- which runs -------------------------------------------------------------------------------------------
def comparison_records(store: RunStore, group_id: str, owner: str | None = None) -> list[RunRecord]:
    """Every run of a comparison (with `owner`: of that workspace only), ordered by seed, then strategy."""
    records = store.list_runs(group_id=group_id, owner=owner, limit=100_000)
    return sorted(records, key=lambda r: (r.config.get("seed", 0), _strategy_key(r.config.get("strategy", "")),
                                          r.created))


def recent_comparisons(store: RunStore, limit: int = 2000, owner: str | None = None) -> list[dict[str, Any]]:
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
        g["strategies"] = sorted(g["strategies"], key=_strategy_key)
    return out


def _comparison_name(r: RunRecord) -> str:
    """Run names look like "model on data: strategy (seed n)"; the comparison is the part before the colon."""
    name = r.name.rsplit(": ", 1)[0] if r.name else ""
    return name or f"{r.config.get('model', '?')} on {r.config.get('data', '?')}"


def status_counts(records: list[RunRecord]) -> dict[str, int]:
    """How many runs are finished well, still active (queued/starting/running), or ended without a result."""
    active = sum(r.status in ACTIVE for r in records)
    done = len(_succeeded(records))
    return {"total": len(records), "succeeded": done, "active": active, "unsuccessful": len(records) - done - active}


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
                     "n": int(part[y].notna().sum()), "_order": _strategy_key(strategy)[0], "_epoch": int(epoch)})
    out = pd.DataFrame(rows).sort_values(["_order", "strategy", "_epoch"])
    return out[columns].reset_index(drop=True)


# -- final results --------------------------------------------------------------------------------------------
def final_frame(records: list[RunRecord]) -> pd.DataFrame:
    """Per strategy (finished runs only): mean test accuracy with its 95% interval over seeds (NaN bounds for
    one seed), number of seeds, mean macro-F1, mean wall-clock seconds and trainable parameters."""
    rows = []
    strategies = sorted({r.config.get("strategy") for r in _succeeded(records)}, key=_strategy_key)
    for strategy in strategies:
        runs = _succeeded(records, strategy)
        interval = mean_interval([r.result["test_accuracy"] for r in runs])
        rows.append({"strategy": strategy, "label": label(strategy), "accuracy": interval.mean,
                     "low": math.nan if interval.low is None else interval.low,
                     "high": math.nan if interval.high is None else interval.high, "seeds": interval.n,
                     "macro_f1": _mean(r.result.get("macro_f1") for r in runs),
                     "wall_seconds": _mean(r.result.get("wall_seconds") for r in runs),
                     "trainable_params": runs[0].result.get("trainable_params")})
    return pd.DataFrame(rows, columns=FINAL_COLUMNS)


def _mean(values: Iterable[Any]) -> float:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else math.nan


def best_transfer(final: pd.DataFrame) -> str | None:
    """The non-scratch strategy with the highest mean test accuracy (None when there is none)."""
    transfer = final[final["strategy"] != "scratch"]
    return None if transfer.empty else str(transfer.loc[transfer["accuracy"].idxmax(), "strategy"])


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def verdict(final: pd.DataFrame) -> str:
    """One sentence in plain words: how the best transfer strategy did against training from scratch."""
    if final.empty:
        return "No run of this comparison has finished yet."
    rows = {r["strategy"]: r for r in final.to_dict("records")}
    best = best_transfer(final)
    scratch = rows.get("scratch")
    if best is None:
        return f"Training from scratch reached {_pct(scratch['accuracy'])} test accuracy; no transfer run has finished."
    t = rows[best]
    if scratch is None:
        return (f"Transfer ({label(best)}) reached {_pct(t['accuracy'])} test accuracy; no run from scratch has "
                "finished to compare with.")
    points = 100 * (t["accuracy"] - scratch["accuracy"])
    if round(points) == 0:
        head = (f"Transfer ({label(best)}) and training from scratch both reached about {_pct(t['accuracy'])} "
                "test accuracy")
    else:
        head = (f"Transfer ({label(best)}) reached {_pct(t['accuracy'])} test accuracy vs {_pct(scratch['accuracy'])} "
                f"from scratch — {abs(points):.0f} points {'better' if points > 0 else 'worse'}")
    bounds = [t["low"], t["high"], scratch["low"], scratch["high"]]
    if any(math.isnan(b) for b in bounds):
        return head + ", from a single seed, so there is no 95% interval yet (add seeds to check it is not chance)."
    if t["low"] > scratch["high"] or scratch["low"] > t["high"]:
        return head + ", with non-overlapping 95% intervals."
    return head + ", but the 95% intervals overlap, so the difference may be chance."


# -- per class and per example ---------------------------------------------------------------------------------
def _evaluations(records: list[RunRecord], strategy: str, missing: list[str]) -> list[dict[str, Any]]:
    out = []
    for r in _succeeded(records, strategy):
        ev = read_artifact(r.id, "evaluation.json")
        if ev is None:
            missing.append(r.id)
        else:
            out.append(ev)
    return out


def per_class_gain(records: list[RunRecord], transfer_strategy: str | None = None) -> pd.DataFrame:
    """Per class: recall (share of that class's test examples predicted correctly) from scratch and with the
    transfer strategy (default: the best one), each averaged over seeds, and the gain (transfer − scratch)."""
    transfer_strategy = transfer_strategy or best_transfer(final_frame(records))
    missing: list[str] = []
    scratch = _evaluations(records, "scratch", missing)
    transfer = _evaluations(records, transfer_strategy, missing) if transfer_strategy else []
    rows = []
    if scratch and transfer:
        classes = list(transfer[0]["classes"])
        for c in classes:
            s = _mean(ev["per_class"].get(c, {}).get("recall") for ev in scratch)
            t = _mean(ev["per_class"].get(c, {}).get("recall") for ev in transfer)
            support = _mean(ev["per_class"].get(c, {}).get("support") for ev in transfer)
            rows.append({"class": c, "scratch": s, "transfer": t, "gain": t - s, "support": support})
    out = pd.DataFrame(rows, columns=GAIN_COLUMNS)
    out.attrs.update(transfer=transfer_strategy, missing=missing)
    return out


def confusion_frame(records: list[RunRecord], strategy: str) -> pd.DataFrame:
    """Confusion counts summed over the seeds of `strategy`: rows = true class, columns = predicted class."""
    missing: list[str] = []
    evals = _evaluations(records, strategy, missing)
    if not evals:
        out = pd.DataFrame()
    else:
        classes = list(evals[0]["classes"])
        total = np.sum([np.asarray(ev["confusion"], dtype=int) for ev in evals], axis=0)
        out = pd.DataFrame(total, index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted"))
    out.attrs.update(strategy=strategy, seeds=len(evals), missing=missing)
    return out


def disagreements(records: list[RunRecord], transfer_strategy: str) -> pd.DataFrame:
    """Test examples (same seed, same item) that one strategy gets right and the other wrong.

    kind = "transfer wins" (scratch wrong, transfer right) or "scratch wins" (the reverse); transfer wins first.
    """
    missing: list[str] = []
    by_seed: dict[Any, dict[str, RunRecord]] = {}
    for r in _succeeded(records):
        by_seed.setdefault(r.config.get("seed"), {})[r.config.get("strategy")] = r
    rows = []
    for seed, runs in sorted(by_seed.items(), key=lambda kv: kv[0]):
        if "scratch" not in runs or transfer_strategy not in runs:
            continue
        preds = {}
        for strategy in ("scratch", transfer_strategy):
            p = read_artifact(runs[strategy].id, "predictions.json")
            if p is None:
                missing.append(runs[strategy].id)
            preds[strategy] = p
        if preds["scratch"] is None or preds[transfer_strategy] is None:
            continue
        transfer_by_index = {p["index"]: p for p in preds[transfer_strategy]}
        for s in preds["scratch"]:
            t = transfer_by_index.get(s["index"])
            if t is None or bool(s["correct"]) == bool(t["correct"]):
                continue
            rows.append({"seed": seed, "index": int(s["index"]), "name": s["name"], "true": s["true"],
                         "scratch_pred": s["pred"], "transfer_pred": t["pred"],
                         "kind": TRANSFER_WINS if t["correct"] else SCRATCH_WINS})
    out = pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)
    if not out.empty:
        out["_order"] = (out["kind"] != TRANSFER_WINS).astype(int)
        out = out.sort_values(["_order", "seed", "index"]).drop(columns="_order").reset_index(drop=True)
    out.attrs.update(transfer=transfer_strategy, missing=missing)
    return out


# -- export ---------------------------------------------------------------------------------------------------
def metrics_csv(records: list[RunRecord]) -> str:
    """One CSV row per run (unfinished runs have empty metrics); formula-like cells are neutralised."""
    return write_csv(({"run_id": r.id, "strategy": r.config.get("strategy"), "seed": r.config.get("seed"),
                       "status": r.status, **{k: (r.result or {}).get(k) for k in CSV_COLUMNS[4:]}}
                      for r in records), CSV_COLUMNS)
