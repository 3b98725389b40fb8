"""`datasets` and `check`: what there is to train on, and whether a dataset can be used (without torch)."""

from __future__ import annotations

import argparse
from typing import Any

from tlcore.cli.output import emit, table
from tlcore.core.config import TrainConfig
from tlcore.data import list_builtins, load_source, make_split
from tlcore.data.report import refuse_unusable

MAX_LISTED = 30  # classes listed by `check` before '… and N more'


def datasets(args: argparse.Namespace) -> None:
    rows = [b.to_dict() for b in list_builtins()]
    for row in rows:
        row["classes"] = len(row["classes"])
    emit({"datasets": rows}, args.json, lambda o: table(
        o["datasets"], ["id", "modality", "n_items", "classes", "available", "how_to_get"]))


def check(args: argparse.Namespace) -> int:
    """Load, split and check a dataset without training: what the Data page shows, headless."""
    defaults = TrainConfig.__dataclass_fields__
    ds = load_source(args.data, text_column=args.text_column, label_column=args.label_column, full_check=True)
    split = make_split(ds, seed=0, val_fraction=defaults["val_fraction"].default,
                       test_fraction=defaults["test_fraction"].default)
    report = refuse_unusable(ds, split)  # decoded like the worker will: every image, not only its header
    emit({"data": args.data, "name": ds.name, "modality": ds.modality, "n_items": len(ds), "classes": ds.classes,
          "split": split.sizes(), "report": report.to_dict()}, args.json, _render_check)
    return 0


def _render_check(o: dict[str, Any]) -> str:
    kind = "images" if o["modality"] == "image" else "texts"
    s = o["split"]
    lines = [f"{o['name']}: {o['n_items']:,} {kind} in {len(o['classes']):,} classes "
             f"(train {s['train']:,} · validation {s['val']:,} · test {s['test']:,})"]
    counts = o["report"]["counts"]
    shown = list(counts.items())[:MAX_LISTED]
    lines += [f"  {name}: {n:,}" for name, n in shown]
    if len(counts) > len(shown):
        lines.append(f"  … and {len(counts) - len(shown):,} more classes")
    lines += [f"error: {e}" for e in o["report"]["errors"]]
    lines += [f"warning: {w}" for w in o["report"]["warnings"]]
    return "\n".join(lines)
