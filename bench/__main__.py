"""`python -m bench`: our engine against the reference loops, side by side in one process run.

    python -m bench                 # full: tux-photos (tutorial loop) and rotten-tomatoes (Trainer), + UI check
    python -m bench --quick --json  # CI smoke check: small subsets, 1-2 epochs, no UI
    python -m bench --cases vision --ui
    python -m bench --cases ray --quick # a 12-run study on a local Ray cluster of one node, then of two
    python -m bench --cases cli         # the command line's cold and warm linear probe (`bench.cli_wall`)

Prints a table (stdout) and, with --json, one JSON object instead. Run it alone on the machine: other
processes competing for the cores change every number.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Cases that are not a reference-vs-ours comparison: name → "module:runner" (imported only when asked for).
SPECIAL = {"ray": "bench.ray_scaling:run_ray_scaling", "roofline": "bench.roofline:run_roofline",
           "cli": "bench.cli_wall:run_cli_wall"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-size run: small subsets and 1-2 epochs")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--cases", default="vision,text",
                        help="comma-separated: vision, text, ray, roofline, cli (default vision,text)")
    parser.add_argument("--ui", action=argparse.BooleanOptionalAction, default=None,
                        help="measure page-switch latency idle vs with a worker training (default: full mode only)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="also write the JSON result to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    from bench.cases import CASES
    unknown = [n for n in names if n not in (*CASES, *SPECIAL)]
    if unknown:
        print(f"Unknown case {unknown[0]!r}; choose from {', '.join((*CASES, *SPECIAL))}.", file=sys.stderr)
        return 2
    data_dir = tempfile.mkdtemp(prefix="tlab-bench-")
    os.environ["TLAB_DATA_DIR"] = data_dir  # cold caches: decoding and the feature pass are measured
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its logs: keep stdout for the result
            result = run(names, args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    text = json.dumps(_finite(result), indent=2, allow_nan=False)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text if args.json else render(result))
    return 0


def run(names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from bench.cases import case_for, run_case
    from tlcore.train.defaults import device_description

    _warm_imports()
    started = time.perf_counter()
    cases = [special_case(name)(args.quick, args.seed) if name in SPECIAL else
             run_case(case_for(name, args.quick), args.seed) for name in names]
    result: dict[str, Any] = {
        "mode": "quick" if args.quick else "full", "seed": args.seed, "device": device_description(),
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
        "cases": cases}
    want_ui = (not args.quick and not set(names) <= set(SPECIAL)) if args.ui is None else args.ui  # the engine's
    if want_ui:
        from bench.ui import measure_ui, ui_unavailable
        reason = ui_unavailable()
        result["ui"] = {"skipped": reason} if reason else measure_ui()
    result["total_s"] = round(time.perf_counter() - started, 1)
    return result


def special_case(name: str) -> Any:
    module, function = SPECIAL[name].split(":")
    return getattr(importlib.import_module(module), function)


def _warm_imports() -> None:
    """Import what either side would import lazily, so neither pays a first import inside its timing."""
    for module in ("torchvision.models", "transformers.trainer", "transformers.models.bert.modeling_bert",
                   "transformers.data.data_collator", "accelerate"):
        importlib.import_module(module)


def _finite(value: Any) -> Any:
    """NaN and infinities as null, so the JSON is strict (tuples become lists)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render(result: dict[str, Any]) -> str:
    from bench.cli_wall import render as render_cli
    from bench.ray_scaling import render_ray
    from bench.roofline import render_roofline
    lines = [f"Transfer Lab bench ({result['mode']}), {result['device']}, {result['torch_threads']} torch threads, "
             f"seed {result['seed']}"]
    head = f"{'side':40} {'test acc':>8} {'to target':>10} {'wall':>8} {'ex/s':>7} {'+mem MB':>8} {'speedup':>8}"
    for case in result["cases"]:
        if case.get("kind") == "cli":
            lines += ["", *render_cli(case).splitlines()]
            continue
        if case.get("kind") in ("ray", "roofline"):
            lines += render_ray(case) if case["kind"] == "ray" else render_roofline(case)
            continue
        if "skipped" in case:
            lines += ["", f"{case['name']}: skipped ({case['skipped']})"]
            continue
        lines += ["", f"{case['name']}: {case['data']} / {case['model']}, {case['epochs']} epochs, "
                      f"{case['n_train']} train / {case['n_test']} test, target = reference accuracy "
                      f"{case['target_accuracy']:.3f}", head]
        for side in case["sides"]:
            lines.append(f"{side['name'][:40]:40} {side['final_accuracy']:8.3f} {_s(side['time_to_target_s']):>10} "
                         f"{_s(side['wall_s']):>8} {_n(side['steady_per_s']):>7} "
                         f"{_n(side['memory'].get('added_mem_mb')):>8} {_x(side.get('speedup_time_to_target')):>8}")
            if "feature_pass_s" in side["extra"]:
                lines.append(f"{'':4}feature pass alone: {side['extra']['feature_pass_s']} s "
                             f"({side['extra']['feature_pass_per_s']} items/s)")
        if case.get("export_s") is not None:
            lines.append(f"(before our timed runs: the frozen body's ONNX exports, once per machine, and their "
                         f"few-item runs: {case['export_s']} s)")
    ui = result.get("ui")
    if ui and "skipped" in ui:
        lines += ["", f"UI: skipped ({ui['skipped']})"]
    elif ui:
        idle, busy = ui["idle"], ui["busy"]
        lines += ["", f"UI page switch, median / max: idle {idle['median_s']} / {idle['max_s']} s (n={idle['n']}); "
                      f"worker training (nice {ui['worker_nice']}): {busy['median_s']} / {busy['max_s']} s "
                      f"(n={busy['n']})"]
    lines.append(f"total {result['total_s']} s")
    return "\n".join(lines)


def _s(x: float | None) -> str:
    return "never" if x is None else f"{x:.1f}s"


def _n(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def _x(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}x"


if __name__ == "__main__":
    sys.exit(main())
