"""`rank`: which pretrained model suits a dataset, from frozen features and labels, without training."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tlcore.cli.output import CliError, emit, table
from tlcore.experiments import layers, ranking


def rank(args: argparse.Namespace) -> int:
    names = ("seed", "per_class", "test_fraction", "val_fraction", "text_column", "label_column")
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    model_ids = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if args.models is not None and not model_ids:
        raise CliError("--models is empty; name models separated by commas (see `python -m tlcore models`).")
    if args.layers:
        if model_ids:
            raise CliError("--layers names the one model to look into; leave out --models.")
        report = layers.layer_report(args.data, args.layers, options, progress=ProgressLines())
        emit(report.to_dict(), args.json, _render_layers)
        return 0
    result = ranking.rank_models(args.data, options, model_ids=model_ids, progress=ProgressLines())
    emit(result.to_dict(), args.json, _render)
    return 0


class ProgressLines:
    """One line on stderr per step and every ~10 % of it, so a log file's last line says where a job is."""

    def __init__(self) -> None:
        self.last: tuple[str, int] | None = None

    def __call__(self, message: str, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if self.last != (message, tenth):
            self.last = (message, tenth)
            print(f"{message} ({done}/{total})" if total > 1 else message, file=sys.stderr, flush=True)


def _render(o: dict[str, Any]) -> str:
    rows = [{"model": m["model_id"], "verdict": m["verdict"], "logme": m["logme"], "knn_loo": m["knn_loo"],
             "seconds": m["seconds"], "cached": m["from_cache"]} for m in o["models"]]
    lines = [o["headline"], table(rows, ["model", "verdict", "logme", "knn_loo", "seconds", "cached"]),
             o["certainty"], o["second_opinion"],
             f"Ranked on {o['n_train']:,} training examples in {o['seconds']:.1f} s."]
    return "\n".join(lines + [f"not ranked: {line}" for line in ranking.skipped_lines(o["skipped"])])


def _render_layers(o: dict[str, Any]) -> str:
    rows = [{"depth": c["depth"], "features": c["dim"], "logme": c["logme"], "knn_loo": c["knn_loo"],
             "frozen": "yes" if i <= o["freeze_through"] else ""} for i, c in enumerate(o["curve"])]
    lines = [f"{o['title']} on {o['n_train']:,} training examples ({o['seconds']:.1f} s):",
             table(rows, ["depth", "features", "logme", "knn_loo", "frozen"]), o["advice"]]
    if o["gauge"]:
        g = o["gauge"]
        lines.append(f"Distance from the pretraining data: {g['level']} (pretrained head's mean confidence "
                     f"{g['msp']:.2f}). {g['message']}")
    return "\n".join(lines)
