"""Handlers of the CLI's sub-commands (argument parsing lives in `tlcore.cli`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from tlcore.cli import EXIT_BAD_INPUT, CliError, config_from_args, emit
from tlcore.runs import Dispatcher, RunRecord, RunStore

MAX_LISTED = 30  # classes listed by `check` before '… and N more'


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def cmd_datasets(args: argparse.Namespace) -> None:
    from tlcore.data import list_builtins
    rows = [dict(vars(b) if not hasattr(b, "to_dict") else b.to_dict()) for b in list_builtins()]
    for row in rows:
        row["classes"] = len(row["classes"]) if isinstance(row.get("classes"), list) else row.get("classes")
    emit({"datasets": rows}, args.json, lambda o: _table(
        o["datasets"], ["id", "modality", "n_items", "classes", "available", "how_to_get"]))


def cmd_models(args: argparse.Namespace) -> None:
    from tlcore.models import availability, list_specs
    rows = []
    for spec in list_specs():
        avail = availability(spec)
        rows.append({"id": spec.id, "modality": spec.modality, "params_m": spec.params_m,
                     "input_size": spec.input_size if spec.modality == "image" else None,
                     "licence": spec.licence, "available": avail.available, "reason": avail.reason,
                     "note": spec.note})
    emit({"models": rows}, args.json, lambda o: _table(
        o["models"], ["id", "modality", "params_m", "available", "reason"]))


def cmd_check(args: argparse.Namespace) -> int:
    """Load, split and check a dataset without training: what the Data page shows, headless."""
    from tlcore.config import TrainConfig
    from tlcore.data import build_report, load_source, make_split
    defaults = TrainConfig.__dataclass_fields__
    ds = load_source(args.data, text_column=args.text_column, label_column=args.label_column)
    split = make_split(ds, seed=0, val_fraction=defaults["val_fraction"].default,
                       test_fraction=defaults["test_fraction"].default)
    report = build_report(ds, split)
    emit({"data": args.data, "name": ds.name, "modality": ds.modality, "n_items": len(ds), "classes": ds.classes,
          "split": split.sizes(), "report": report.to_dict()}, args.json, _render_check)
    return 0 if report.ok else EXIT_BAD_INPUT


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


def _wait_with_progress(store: RunStore, run_ids: list[str]) -> list[RunRecord]:
    dispatcher = Dispatcher(store)
    bars: dict[str, tqdm] = {}

    def on_poll(records: list[RunRecord]) -> None:
        for r in records:
            if r is None or (r.id not in bars and r.status == "queued"):
                continue
            per_class = r.config.get("per_class")
            label = f"{r.config['strategy']} s{r.config['seed']}" + (f" {per_class}/class" if per_class else "")
            bar = bars.get(r.id) or bars.setdefault(r.id, tqdm(total=max(r.total_steps, 1), desc=label,
                                                               file=sys.stderr, unit="step", leave=True,
                                                               mininterval=0.5, dynamic_ncols=True))
            if r.total_steps and bar.total != r.total_steps:
                bar.total = r.total_steps
            target = bar.total if r.status == "succeeded" else r.step
            bar.update(max(0, target - bar.n))
            bar.set_postfix_str(r.status if r.is_final else r.message, refresh=False)
            if r.is_final:
                bar.close()

    try:
        return dispatcher.wait(run_ids, on_poll=on_poll)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: leave nothing of ours queued or running
        for run_id in run_ids:
            store.request_cancel(run_id)
        dispatcher.terminate_all(run_ids)
        raise
    finally:
        for bar in bars.values():
            bar.close()


def _warn(prep) -> None:
    """Data warnings (duplicates, tiny classes, skipped files…) qualify the results: show them on stderr."""
    for warning in prep.report.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    from tlcore import service  # imports torch (seconds): only the commands that train pay for it
    from tlcore.train.defaults import default_strategy
    config = config_from_args(args, args.strategy or "linear_probe")
    prep = service.check(config)
    if args.strategy is None:  # the measured default for this modality and data size (see `python -m bench`)
        config = config.with_(strategy=default_strategy(prep.dataset.modality, len(prep.train_idx),
                                                        prep.dataset.num_classes))
    _warn(prep)
    store = RunStore()
    run_id = service.submit(store, config, name=args.name)
    (record,) = _wait_with_progress(store, [run_id])
    result = service.run_result(store, record)
    emit(result, args.json, _render_run)
    return 0 if record.status == "succeeded" else 1


def _render_run(r: dict[str, Any]) -> str:
    if r["status"] != "succeeded":
        return f"run {r['run_id']}: {r['status']}: {r.get('error') or ''}"
    return (f"run {r['run_id']}: {r['strategy']} test accuracy {r['test_accuracy']:.3f}, macro-F1 "
            f"{r['macro_f1']:.3f} ({r['n_train']} training / {r['n_test']} test examples, {r['epochs']} epochs, "
            f"{r['wall_seconds']:.1f} s, {r['trainable_params']:,} trainable parameters)")


def cmd_compare(args: argparse.Namespace) -> int:
    from tlcore import service
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    if len(set(strategies)) != len(strategies):
        raise CliError("A strategy is listed twice in --strategies.")
    base = config_from_args(args, strategies[0] if strategies else "scratch")
    store = RunStore()
    group_id, run_ids, prep = service.submit_comparison(store, base, strategies, args.seeds, name=args.name)
    _warn(prep)
    records = _wait_with_progress(store, run_ids)
    out = {"comparison_id": group_id, "data": args.data, "model": args.model,
           "runs": [service.run_result(store, r) for r in records],
           "summary": service.summarize_comparison(records)}
    emit(out, args.json, _render_comparison)
    return 0 if all(r.status == "succeeded" for r in records) else 1


def _render_comparison(o: dict[str, Any]) -> str:
    rows = []
    for strategy, s in o["summary"].items():
        acc = s["test_accuracy"]
        ci = f"[{acc['low']:.3f}, {acc['high']:.3f}]" if acc["low"] is not None else "(one seed)"
        rows.append({"strategy": strategy, "test_accuracy": acc["mean"], "95% interval": ci,
                     "seeds": f"{s['succeeded']}/{s['runs']}", "seconds": s["wall_seconds_mean"],
                     "trainable_params": s["trainable_params"]})
    failed = [f"run {r['run_id']} ({r['strategy']}): {r['status']}: {r['error']}"
              for r in o["runs"] if r["status"] != "succeeded"]
    return "\n".join([f"comparison {o['comparison_id']}: {o['model']} on {o['data']}",
                      _table(rows, ["strategy", "test_accuracy", "95% interval", "seeds", "seconds",
                                    "trainable_params"]), *failed])


def cmd_study(args: argparse.Namespace) -> int:
    from tlcore.studies.command import run_study
    return run_study(args)


def _get_run(store: RunStore, run_id: str) -> RunRecord:
    record = store.get(run_id)
    if record is None:
        raise CliError(f"No run with id '{run_id}'; see `python -m tlcore runs list`.")
    return record


def cmd_runs(args: argparse.Namespace) -> int:
    store = RunStore()
    if args.runs_command == "list":
        rows = [{"run_id": r.id, "status": r.status, "model": r.config.get("model"), "data": r.config.get("data"),
                 "strategy": r.config.get("strategy"), "seed": r.config.get("seed"),
                 "test_accuracy": (r.result or {}).get("test_accuracy"), "name": r.name}
                for r in store.list_runs(limit=args.limit)]
        emit({"runs": rows}, args.json, lambda o: _table(o["runs"], list(rows[0]) if rows else []))
    elif args.runs_command == "show":
        record = _get_run(store, args.run_id)
        emit(dict(record.to_dict(), history=store.epochs(record.id)), args.json,
             lambda o: "\n".join(f"{k}: {v}" for k, v in o.items()))
    else:
        from tlcore.predict import export_run
        record = _get_run(store, args.run_id)
        if record.status != "succeeded":
            raise CliError(f"Run {record.id} is {record.status}; only finished runs can be exported.")
        path = export_run(record.id, args.format, Path(args.out))
        emit({"run_id": record.id, "format": args.format, "path": str(path)}, args.json,
             lambda o: f"exported {o['run_id']} as {o['format']} to {o['path']}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tlcore.predict import Predictor
    if args.top < 1:
        raise CliError("--top must be at least 1.")
    store = RunStore()
    record = _get_run(store, args.run_id)
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
