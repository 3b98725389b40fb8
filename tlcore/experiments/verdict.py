"""One verdict on the gap between the best transfer strategy and training from scratch, for Compare, Study and
the study report alike.

Two checks can speak about a gap: the 95 % intervals over seeds (does the mean gap survive the spread from
seed to seed?) and, where the runs kept their predictions, an exact paired test on the same test items. A gap
is called clear only when every check that is available agrees. When they disagree the sentence says which
said what, so that no page shows one check's verdict beside the other's contradiction. With fewer than
`FAIR_SEEDS` seeds the sentence says that the intervals are very wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tlcore.core import strategies

SIGNIFICANCE = 0.05
FAIR_SEEDS = 3


@dataclass(frozen=True)
class GapVerdict:
    """`sentence` for a banner, `short` for a table cell; `clear` only when every available check agrees."""

    sentence: str
    short: str
    ahead: bool | None = None
    clear: bool = False
    seeds: int = 0


def best_transfer(rows: pd.DataFrame) -> str | None:
    """The transfer strategy with the highest mean test accuracy (None when there is none). From scratch is the
    baseline; distillation is neither (its network never holds pretrained weights) and is never picked."""
    transfer = rows[rows["strategy"].map(strategies.is_transfer)]
    return None if transfer.empty else str(transfer.loc[transfer["accuracy"].idxmax(), "strategy"])


def pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def gap_verdict(rows: pd.DataFrame, paired: Mapping[str, Any] | None = None) -> GapVerdict:
    """The verdict for one group of summary rows (one row per strategy, see `summary.summarize`).

    `paired`: the paired test of the best transfer strategy (a) against from-scratch (b) on the same test
    items, as `PairedTest.to_dict()` gives it, when the predictions were kept."""
    if rows.empty:
        return GapVerdict("No run has finished yet.", "nothing finished yet")
    by_strategy = {r["strategy"]: r for r in rows.to_dict("records")}
    best, scratch = best_transfer(rows), by_strategy.get("scratch")
    if best is None:
        return GapVerdict(f"Training from scratch reached {pct(scratch['accuracy'])} test accuracy; no transfer "
                          "run has finished.", "no transfer run yet")
    t = by_strategy[best]
    if scratch is None:
        return GapVerdict(f"Transfer ({strategies.label(best)}) reached {pct(t['accuracy'])} test accuracy; no run "
                          "from scratch has finished to compare with.", "no from-scratch run yet")
    points = 100 * (t["accuracy"] - scratch["accuracy"])
    seeds = int(min(t["n"], scratch["n"]))
    evidence, clear = _evidence(t, scratch, paired, points)
    clear = clear and round(points) != 0  # "clearly the same" is not a gap
    few = (f" With {seeds} seeds the intervals are very wide; {FAIR_SEEDS} or more give a fairer picture."
           if 1 < seeds < FAIR_SEEDS else "")
    gap = "same accuracy" if round(points) == 0 else f"{points:+.0f} points"
    short = (f"{'Clear' if clear else 'Could be chance'}: {gap}"
             + (f" ({seeds} seed{'s' if seeds != 1 else ''})" if seeds < FAIR_SEEDS else ""))
    return GapVerdict(_head(best, t, scratch, points) + evidence + few, short, ahead=round(points) > 0, clear=clear,
                      seeds=seeds)


def _head(best: str, t: Mapping[str, Any], scratch: Mapping[str, Any], points: float) -> str:
    name = strategies.label(best)
    if round(points) == 0:
        return f"Transfer ({name}) and training from scratch both reached about {pct(t['accuracy'])} test accuracy"
    return (f"Transfer ({name}) reached {pct(t['accuracy'])} test accuracy vs {pct(scratch['accuracy'])} from "
            f"scratch — {abs(points):.0f} points {'better' if points > 0 else 'worse'}")


def _evidence(t: Mapping[str, Any], scratch: Mapping[str, Any], paired: Mapping[str, Any] | None,
              points: float) -> tuple[str, bool]:
    """The second half of the sentence, and whether every available check calls the gap clear."""
    has_interval = not any(math.isnan(float(b)) for b in (t["low"], t["high"], scratch["low"], scratch["high"]))
    apart = has_interval and (t["low"] > scratch["high"] or scratch["low"] > t["high"])
    significant = paired is not None and float(paired["p_value"]) < SIGNIFICANCE
    p = f"p = {float(paired['p_value']):.2g}" if paired is not None else ""
    if significant and (paired["a_better"] > paired["b_better"]) != (points > 0):  # the checks point two ways
        return (f". On the same test items the paired test points the other way ({p}), so the gap is not called "
                "clear.", False)
    if not has_interval and paired is None:
        return ", from a single seed, so there is no 95% interval yet (add seeds to check it is not chance).", False
    if not has_interval:
        return ((f", from a single seed; on the same test items the gap is unlikely to be chance ({p})." if significant
                 else f", from a single seed; on the same test items the gap could be chance ({p})."), significant)
    if paired is None:
        return ((", with non-overlapping 95% intervals.", True) if apart else
                (", but the 95% intervals overlap, so the difference may be chance.", False))
    if apart and significant:
        return f", with non-overlapping 95% intervals and a real difference on the same test items ({p}).", True
    if apart:
        return (f". The 95% intervals do not overlap, but on the same test items the gap could still be chance "
                f"({p}), so it is not called clear.", False)
    if significant:
        return (f". On the same test items the gap looks real ({p}), but the 95% intervals overlap, so it is not "
                "called clear yet.", False)
    return f", but the 95% intervals overlap and the paired test agrees it could be chance ({p}).", False
