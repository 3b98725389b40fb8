"""`train` and `compare`: queue runs, follow them with progress bars, print the results."""

from __future__ import annotations

import argparse
from typing import Any

from tlcore.cli.configs import config_from_args, strategy_list
from tlcore.cli.output import emit, ready_executor, table, wait_with_progress, warn_data
from tlcore.experiments import submit
from tlcore.runs import RunStore
from tlcore.train.defaults import default_strategy


def train(args: argparse.Namespace) -> int:
    config = config_from_args(args, args.strategy or "linear_probe")
    store = RunStore()
    with ready_executor(store, [args.strategy] if args.strategy else None, args.model) as executor:
        prep = submit.check(config)
        if args.strategy is None:  # the measured default for this modality and data size (`python -m bench`)
            config = config.with_(strategy=default_strategy(prep.dataset.modality, len(prep.train_idx),
                                                            prep.dataset.num_classes))
        warn_data(prep.report.warnings)
        run_id = submit.submit(store, config, name=args.name)
        (record,) = wait_with_progress(store, [run_id], executor)
    emit(submit.run_result(store, record), args.json, _render_run)
    return 0 if record.status == "succeeded" else 1


def _render_run(r: dict[str, Any]) -> str:
    if r["status"] != "succeeded":
        return f"run {r['run_id']}: {r['status']}: {r.get('error') or ''}"
    line = (f"run {r['run_id']}: {r['strategy']} test accuracy {r['test_accuracy']:.3f}, macro-F1 "
            f"{r['macro_f1']:.3f} ({r['n_train']} training / {r['n_test']} test examples, {r['epochs']} "
            f"epoch{'' if r['epochs'] == 1 else 's'}, "
            f"{r['wall_seconds']:.1f} s, {r['trainable_params']:,} trainable parameters)")
    if r.get("teacher_test_accuracy") is not None:
        line += (f"\nteacher (linear probe on the pretrained features): test accuracy "
                 f"{r['teacher_test_accuracy']:.3f}; the student {r.get('distill_note', '')}")
    return line


def compare(args: argparse.Namespace) -> int:
    from tlcore.experiments import comparison  # pandas (0.5-0.7 s here): for comparisons only, not each `train`
    from tlcore.experiments.summary import run_rows, summarize, summary_json

    strategies = strategy_list(args.strategies)
    base = config_from_args(args, strategies[0] if strategies else "scratch")
    store = RunStore()
    with ready_executor(store, strategies, args.model) as executor:
        group_id, run_ids, prep = submit.submit_comparison(store, base, strategies, args.seeds, name=args.name)
        warn_data(prep.report.warnings)
        records = wait_with_progress(store, run_ids, executor)
    rows = run_rows(records)
    out = {"comparison_id": group_id, "data": args.data, "model": args.model,
           "runs": [submit.run_result(store, r) for r in records],
           "summary": summary_json(summarize(rows), rows), "distillation": comparison.distillation_note(records)}
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
    notes = [o["distillation"]] if o.get("distillation") else []
    return "\n".join([f"comparison {o['comparison_id']}: {o['model']} on {o['data']}",
                      table(rows, ["strategy", "test_accuracy", "95% interval", "seeds", "seconds",
                                   "trainable_params"]), *failed, *notes])
