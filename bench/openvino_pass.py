"""`python -m bench.openvino_pass [--batch 64] [--hint LATENCY]`: the frozen MobileNetV2 pass at 224 px over
tux-photos on ONNX Runtime (as `bench.bare_probe` runs it: the engine's export, batch, threads, no spinning) and on
OpenVINO's CPU plugin (the same export file, as many threads, fp32), interleaved, with their agreement. Each
backend's one-off setup (ONNX Runtime's session, OpenVINO's compile: paid once per run) is timed apart from the
passes, which reuse it.

OpenVINO is the other backend issue 14 suggests for the frozen pass; it lost here (docs/performance.md), so it is
not a dependency: `pip install openvino==2026.4.1` first. Needs `make data` (tux-photos) and TLAB_OFFLINE=1 offline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.bare_probe import MEAN, STD, decode, ort_features, ort_session
from bench.cli_wall import bare_probe_spec


def openvino_request(onnx: str, threads: int, hint: str):
    import openvino as ov

    core = ov.Core()
    return core.compile_model(core.read_model(onnx), "CPU", {
        "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": hint, "INFERENCE_PRECISION_HINT": "f32"},
    ).create_infer_request()


def openvino_features(request, images: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([np.asarray(request.infer({0: ((images[i:i + batch].astype(np.float32) - MEAN) / STD)
                                                     .transpose(0, 3, 1, 2).copy()})[0])
                           .reshape(len(images[i:i + batch]), -1) for i in range(0, len(images), batch)])


def timed(make):
    began = time.perf_counter()
    return make(), time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.openvino_pass", description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=None, help="default: the engine's feature batch")
    parser.add_argument("--hint", default="LATENCY", choices=["LATENCY", "THROUGHPUT"])
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args(argv)
    spec = json.loads(Path(bare_probe_spec(tempfile.mkdtemp(), "numpy")).read_text())
    batch, threads = args.batch or spec["batch"], spec["threads"]
    images = np.stack([decode(p, spec["size"], spec["crop_pct"]) for p in spec["files"]])
    session, ort_setup = timed(lambda: ort_session(spec["onnx"], threads))
    request, ov_setup = timed(lambda: openvino_request(spec["onnx"], threads, args.hint))
    sides = {"onnxruntime": lambda: ort_features(session, images, batch),
             "openvino": lambda: openvino_features(request, images, batch)}
    first = {name: run() for name, run in sides.items()}  # warm-up, and the agreement
    walls: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, run in sides.items():
            began = time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - began)
    per_s = {name: len(images) / statistics.median(w) for name, w in walls.items()}
    agreement = float(np.abs(first["openvino"] - first["onnxruntime"]).max() / np.abs(first["onnxruntime"]).max())
    print(json.dumps({"images": len(images), "size": spec["size"], "batch": batch, "threads": threads,
                      "hint": args.hint,
                      "setup_s": {"onnxruntime": round(ort_setup, 2), "openvino": round(ov_setup, 2)},
                      "images_per_s": {k: round(v, 1) for k, v in per_s.items()},
                      "openvino_vs_onnxruntime": round(per_s["openvino"] / per_s["onnxruntime"], 2),
                      "relative_difference": agreement}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
