"""`runs` (list, show, export, push) and `predict`: what has been trained, and using it.

`runs list` and `runs show` only read the store: torch and the model libraries are imported only by the
commands that load a model (export, predict; tests/cli/test_lean_imports.py holds this)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlcore.cli.output import CliError, emit, get_run, table
from tlcore.runs import RunStore
from tlcore.runs.store import EVERYONE


def runs(args: argparse.Namespace) -> int:
    store = RunStore()
    if args.runs_command == "list":
        rows = [{"run_id": r.id, "status": r.status, "model": r.config.get("model"), "data": r.config.get("data"),
                 "strategy": r.config.get("strategy"), "seed": r.config.get("seed"),
                 "test_accuracy": (r.result or {}).get("test_accuracy"), "name": r.name}
                for r in store.list_runs(owner=EVERYONE, limit=args.limit)]
        emit({"runs": rows}, args.json, lambda o: table(o["runs"], list(rows[0]) if rows else []))
    elif args.runs_command == "show":
        record = get_run(store, args.run_id)
        emit(dict(record.to_dict(), history=store.epochs(record.id)), args.json,
             lambda o: "\n".join(f"{k}: {v}" for k, v in o.items()))
    elif args.runs_command == "push":
        _push(store, args)
    else:
        from tlcore.experiments.predict import export_run

        record = get_run(store, args.run_id)
        if record.status != "succeeded":
            raise CliError(f"Run {record.id} is {record.status}; only finished runs can be exported.")
        path = export_run(record.id, args.format, Path(args.out))
        emit({"run_id": record.id, "format": args.format, "path": str(path)}, args.json,
             lambda o: f"exported {o['run_id']} as {o['format']} to {o['path']}")
    return 0


def _push(store: RunStore, args: argparse.Namespace) -> None:
    from tlcore.experiments.hub import push_run

    record = get_run(store, args.run_id)
    if record.status != "succeeded":
        raise CliError(f"Run {record.id} is {record.status}; only finished runs can be pushed.")
    out = push_run(record.id, args.repo, Path(args.out), dry_run=args.dry_run)
    emit(out, args.json, lambda o: (f"pushed {o['run_id']} to {o['url']}" if o["pushed"] else
                                    f"would push {len(o['files'])} files from {o['folder']} to {o['repo']}: "
                                    + ", ".join(o["files"])))


def predict(args: argparse.Namespace) -> int:
    from tlcore.experiments.predict import Predictor

    if args.top < 1:
        raise CliError("--top must be at least 1.")
    record = get_run(RunStore(), args.run_id)
    if record.status != "succeeded":
        raise CliError(f"Run {record.id} is {record.status}; only finished runs can predict.")
    predictor = Predictor(record.id)
    inputs: list[Any] = args.inputs
    if predictor.modality == "image":
        missing = [p for p in inputs if not Path(p).is_file()]
        if missing:
            raise CliError(f"Image file not found: {missing[0]}")
    results = [{"input": str(i), "top": [{"class": c, "probability": p} for c, p in top]}
               for i, top in zip(inputs, predictor.predict(inputs, top=args.top))]
    emit({"run_id": record.id, "predictions": results}, args.json, lambda o: "\n".join(
        f"{r['input']}: " + ", ".join(f"{t['class']} {t['probability']:.2f}" for t in r["top"])
        for r in o["predictions"]))
    return 0
