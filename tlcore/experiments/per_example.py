"""What a comparison's saved predictions tell per class and per test example: per-class gain of transfer over
scratch, confusion matrices, and the test items the two disagree on.

Artifacts are read from the run folders (the layout of `tlcore.runs.paths`) without importing the training
stack. A run whose files are gone (deleted run) is skipped and listed in the returned frame's
`attrs["missing"]`, so callers can say so in plain words.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from tlcore.experiments.comparison import best_transfer, final_frame, succeeded
from tlcore.runs.paths import read_artifact
from tlcore.runs.store import RunRecord

GAIN_COLUMNS = ["class", "scratch", "transfer", "gain", "support"]
DISAGREEMENT_COLUMNS = ["seed", "index", "name", "true", "scratch_pred", "transfer_pred", "kind"]
TRANSFER_WINS, SCRATCH_WINS = "transfer wins", "scratch wins"


def _mean(values: Any) -> float:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else math.nan


# -- per class and per example ---------------------------------------------------------------------------------
def _evaluations(records: list[RunRecord], strategy: str, missing: list[str]) -> list[dict[str, Any]]:
    out = []
    for r in succeeded(records, strategy):
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
    for r in succeeded(records):
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



