"""`models`: the registry, and whether each model's weights can be had here."""

from __future__ import annotations

import argparse

from tlcore.cli.output import emit, table
from tlcore.models import availability, list_specs


def models(args: argparse.Namespace) -> None:
    rows = []
    for spec in list_specs():
        avail = availability(spec)
        rows.append({"id": spec.id, "modality": spec.modality, "params_m": spec.params_m,
                     "input_size": spec.input_size if spec.modality == "image" else None,
                     "licence": spec.licence, "available": avail.available, "reason": avail.reason,
                     "note": spec.note})
    columns = ["id", "modality", "params_m", "available", "reason"]
    emit({"models": rows}, args.json, lambda o: table(o["models"], columns))
