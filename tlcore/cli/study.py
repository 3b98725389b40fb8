"""`study`: queue a data-efficiency study, wait with progress bars, print the results, write the report."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tlcore.cli.configs import config_from_args, strategy_list
from tlcore.cli.output import CliError, emit, ready_executor, table, wait_with_progress, warn_data
from tlcore.experiments.comparison import distillation_note
from tlcore.experiments.study.plan import StudySpec, default_max_steps, parse_per_class, submit_study
from tlcore.experiments.study.report import study_report
from tlcore.experiments.study.results import cells_frame, study_json
from tlcore.runs.store import EVERYONE, RunStore


def study(args: argparse.Namespace) -> int:
    strategies = tuple(strategy_list(args.strategies))
    report = Path(args.report).expanduser() if args.report else None
    if report and not report.parent.is_dir():
        raise CliError(f"Cannot write the report to {report}: folder {report.parent} does not exist.")
    base = config_from_args(argparse.Namespace(**dict(vars(args), max_steps=None)), "scratch")
    max_steps = default_max_steps(base.device) if args.max_steps is None else (args.max_steps or None)
    spec = StudySpec(base.with_(max_steps=max_steps), strategies, parse_per_class(args.per_class), args.seeds)
    store = RunStore()
    started = time.monotonic()
    with ready_executor(store, strategies, args.model) as executor:
        submitted = submit_study(store, spec, name=args.name)
        warn_data(submitted.prepared.report.warnings)
        for note in submitted.notes:
            print(f"note: {note}; it is left out.", file=sys.stderr)
        print(f"study {submitted.study_id}: {len(submitted.cells)} runs ({submitted.new_runs} to train, "
              f"{len(submitted.cells) - submitted.new_runs} reused)", file=sys.stderr)
        wait_with_progress(store, [c.run_id for c in submitted.cells], executor)
    records = store.study_runs(submitted.study_id)
    cells = cells_frame(records)
    out: dict[str, Any] = {"study_id": submitted.study_id, "spec": submitted.spec.to_dict(),
                           "wall_seconds": round(time.monotonic() - started, 1), **study_json(cells),
                           "distillation": distillation_note(records)}
    if report:
        write_atomic(report, study_report(store, submitted.study_id, owner=EVERYONE))
        out["report"] = str(report)
    emit(out, args.json, render_study)
    return 0 if (cells["status"] == "succeeded").all() else 1


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_study(o: dict[str, Any]) -> str:
    rows = []
    tests = {t["k_label"]: t for t in o["paired_tests"]}
    for strategy, by_k in o["results"].items():
        for k, r in by_k.items():
            test = tests.get(k)
            rows.append({"strategy": strategy, "per_class": k, "accuracy": r["mean"],
                         "95% interval": f"[{r['low']:.3f}, {r['high']:.3f}]" if r["low"] is not None else "(one seed)",
                         "seconds": r["wall_seconds_mean"],
                         "p_vs_scratch": f"{test['p_value']:.2g}" if test and test["transfer"] == strategy else ""})
    lines = [f"study {o['study_id']} ({o['wall_seconds']:.0f} s)", table(rows, list(rows[0]) if rows else []),
             o["headline"]]
    if o.get("data_multiplier"):
        lines.append(o["data_multiplier"]["text"])
    lines += [f"{t['k_label']} per class: {t['verdict']}" for t in o["paired_tests"]]
    if o.get("distillation"):
        lines.append(o["distillation"])
    if o.get("report"):
        lines.append(f"report: {o['report']}")
    return "\n".join(lines)
