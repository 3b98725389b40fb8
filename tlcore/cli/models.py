"""`models`: the registry, and whether each model's weights can be had here; `--search` adds library models
(`timm:…`, `hf:…`) by name, with whether they are in the local cache."""

from __future__ import annotations

import argparse

from tlcore.cli.output import emit, table
from tlcore.models import ModelSpec, availability, get_spec, list_specs, named


def models(args: argparse.Namespace) -> None:
    specs = list_specs()
    if args.search:
        specs = [get_spec(model_id) for model_id in named.search(args.search, args.modality)]
    rows = [_row(spec) for spec in specs]
    columns = ["id", "modality", "params_m", "available", "reason"]
    emit({"models": rows}, args.json, lambda o: table(o["models"], columns))


def _row(spec: ModelSpec) -> dict:
    avail = availability(spec)
    return {"id": spec.id, "modality": spec.modality, "params_m": spec.params_m,
            "input_size": spec.input_size if spec.modality == "image" else None,
            "licence": spec.licence, "available": avail.available, "reason": avail.reason, "note": spec.note}
