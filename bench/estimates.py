"""`python -m bench.estimates`: the time estimates the app shows, against the real wall time, side by side.

Three cases run through the engine the way the app runs them (queued in one fresh data directory and
executed by the dispatcher's warm worker, one run after another): the demo (MobileNetV2 on tux-photos,
scratch vs linear probe, 3 seeds), a 3-run comparison on an uploaded zip (7 classes; scratch, linear probe,
fine-tune) and a data-efficiency study (digits; scratch, linear probe, nearest neighbours at 5 and 20 examples
per class, 2 seeds). Before each case it computes the estimate the Home/Train/Study page would show at that
moment (calibrated by the runs that finished earlier in this data directory: none for the first case); after
it, the wall time from queueing to the last run finished. Run it alone: other processes on the cores change
every number (the ratio measures the estimator under whatever load there is, as the app sees it).

    python -m bench.estimates                  # all three cases, a table
    python -m bench.estimates --cases demo --json
    python -m bench.estimates --data-dir DIR   # keep the runs: a second invocation starts calibrated
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

os.environ.setdefault("TLAB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TOLERANCE = 0.35


def shapes_zip(classes: int = 7, per_class: int = 12, side: int = 96) -> bytes:
    """A small learnable image zip: per class a differently coloured square on noise, at random places."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for c in range(classes):
            colour = rng.integers(0, 256, size=3)
            for k in range(per_class):
                arr = rng.integers(60, 200, size=(side, side, 3)).astype(np.uint8)
                y, x = rng.integers(0, side // 2, size=2)
                arr[y:y + side // 2, x:x + side // 2] = colour
                png = io.BytesIO()
                Image.fromarray(arr).save(png, "PNG")
                zf.writestr(f"shapes/class{c}/{k}.png", png.getvalue())
    return buf.getvalue()


def comparison_case(store, config, strategies: list[str], seeds: int) -> tuple[float, list[str]]:
    """(estimate, run ids) of a comparison, estimated just before it is queued."""
    from tlcore.experiments import estimate, submit

    prep = submit.check(config, strategies)
    seconds = estimate.estimate_comparison_seconds(prep, strategies, seeds, estimate.calibration(store))
    _, run_ids, _ = submit.submit_comparison(store, config, strategies, seeds)
    return seconds, run_ids


def study_case(store, config, strategies: tuple[str, ...], per_class: tuple[int, ...],
               seeds: int) -> tuple[float, list[str]]:
    """(estimate, run ids) of a study, estimated as the Study page does just before it is queued."""
    from tlcore.experiments import estimate, submit
    from tlcore.experiments.study.plan import StudySpec, default_max_steps, submit_study

    cap = default_max_steps(config.device)
    prep = submit.check(config, strategies)
    cells = [(s, k) for k in per_class for _ in range(seeds) for s in strategies]
    seconds = estimate.estimate_study_seconds(prep, cells, cap, estimate.calibration(store))
    submitted = submit_study(store, StudySpec(config.with_(max_steps=cap), strategies, per_class, seeds))
    return seconds, [c.run_id for c in submitted.cells]


def run_case(name: str, store, dispatcher) -> dict[str, Any]:
    from tlcore.core.config import TrainConfig
    from tlcore.data import library

    started = time.monotonic()
    if name == "demo":
        seconds, run_ids = comparison_case(store, TrainConfig(data="tux-photos", model="mobilenet_v2"),
                                           ["scratch", "linear_probe"], 3)
    elif name == "upload":
        ref = library.store_file("shapes.zip", shapes_zip()).ref
        seconds, run_ids = comparison_case(store, TrainConfig(data=ref, data_name="shapes.zip", model="mobilenet_v2"),
                                           ["scratch", "linear_probe", "finetune"], 1)
    else:
        seconds, run_ids = study_case(store, TrainConfig(data="digits", model="mobilenet_v2"),
                                      ("scratch", "linear_probe", "knn"), (5, 20), 2)
    records = dispatcher.wait(run_ids, timeout_s=7200)
    actual = time.monotonic() - started
    return {"case": name, "runs": len(run_ids), "succeeded": sum(r.status == "succeeded" for r in records),
            "estimate_s": round(seconds, 1), "actual_s": round(actual, 1), "ratio": round(seconds / actual, 2),
            "within_35_percent": abs(seconds / actual - 1) <= TOLERANCE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.estimates", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="demo,upload,study", help="comma-separated: demo, upload, study")
    parser.add_argument("--data-dir", help="data directory to use and keep (default: a fresh temporary one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="tlab-estimates-"))
    os.environ["TLAB_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("TLAB_MAX_WORKERS", "1")
    from tlcore.runs import Dispatcher, RunStore

    store = RunStore()
    dispatcher = Dispatcher(store)
    rows = []
    try:
        for name in args.cases.split(","):
            rows.append(run_case(name.strip(), store, dispatcher))
            if not args.json:
                print(" | ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    finally:
        dispatcher.terminate_all()
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "cases": rows}))
    return 0 if all(r["within_35_percent"] and r["succeeded"] == r["runs"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
