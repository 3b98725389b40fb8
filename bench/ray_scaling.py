"""`python -m bench --cases ray`: one 12-run study on a Ray cluster of one node, then on two nodes, side by side
in one process run (each on a fresh cluster started here and stopped afterwards, with a fresh store).

Both clusters run on this one machine, one CPU per node: on a machine with fewer free cores than nodes the
second node only adds contention, and the ratio says so. The wall time is from the study's submission to its
last run's end, so it includes each side's cold workers (one per node importing torch).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tlcore.core.config import TrainConfig
from tlcore.experiments.study import StudySpec, submit_study
from tlcore.runs.store import RunStore

DATA, MODEL = "digits", "mobilenet_v2"  # built in everywhere: nothing to download or install
STRATEGIES, PER_CLASS, SEEDS = ("scratch", "linear_probe"), (2, 5, 10), 2  # 2 × 3 × 2 = 12 runs


def run_ray_scaling(quick: bool, seed: int) -> dict[str, Any]:
    try:
        import ray  # noqa: F401  (only to say so when it is missing)
    except ImportError as exc:
        return {"name": "ray", "kind": "ray", "skipped": f"ray is not installed ({exc})"}
    base = TrainConfig(data=DATA, model=MODEL, seed=seed, image_size=32, epochs=1 if quick else 5)
    spec = StudySpec(base, STRATEGIES, PER_CLASS, SEEDS)
    sides = [_study_on(nodes, spec) for nodes in (1, 2)]
    one, two = sides[0]["wall_s"], sides[1]["wall_s"]
    return {"name": "ray", "kind": "ray", "data": DATA, "model": MODEL, "runs": len(spec.cells()),
            "epochs": base.epochs, "sides": sides, "ratio_one_over_two": round(one / two, 2) if two else None}


def _study_on(nodes: int, spec: StudySpec) -> dict[str, Any]:
    from bench.raycluster import LocalCluster
    from tlcore.runs.ray.executor import RayExecutor
    from tlcore.runs.ray.settings import RaySettings

    root = Path(tempfile.mkdtemp(prefix="tlb", dir="/tmp"))  # short: Unix socket paths stay under 107 bytes
    data_dir, old = root / "server", os.environ.get("TLAB_DATA_DIR")
    os.environ["TLAB_DATA_DIR"] = str(data_dir)
    try:
        with LocalCluster(root / "cluster", workers=nodes - 1) as cluster:
            store = RunStore()
            executor = RayExecutor(store, RaySettings(address=cluster.address, node_ip=cluster.head_ip,
                                                      namespace=f"bench-{nodes}", drain_every_s=1.0))
            try:
                run_ids = [c.run_id for c in submit_study(store, spec).cells]
                started = time.perf_counter()
                records = executor.wait(run_ids, poll_s=0.2, timeout_s=3600)
                wall = time.perf_counter() - started
            finally:
                executor.terminate_all()
                executor.stop()
        return {"nodes": nodes, "wall_s": round(wall, 1), "cluster_start_s": cluster.timings["start_s"],
                "cluster_stop_s": cluster.timings["stop_s"],
                "succeeded": sum(r.status == "succeeded" for r in records),
                "runs_per_node": dict(Counter(r.node for r in records))}
    finally:
        if old is None:
            os.environ.pop("TLAB_DATA_DIR", None)
        else:
            os.environ["TLAB_DATA_DIR"] = old
        shutil.rmtree(root, ignore_errors=True)  # the server's store and models, ~100 MB a side


def render_ray(case: dict[str, Any]) -> list[str]:
    if "skipped" in case:
        return ["", f"ray: skipped ({case['skipped']})"]
    lines = ["", f"ray: a {case['runs']}-run study ({case['data']} / {case['model']}, {case['epochs']} epoch(s)), "
                 "one Ray cluster per side, 1 CPU per node, on this machine",
             f"{'nodes':>5} {'wall':>8} {'succeeded':>9} {'cluster start':>13}  runs per node"]
    for side in case["sides"]:
        lines.append(f"{side['nodes']:>5} {side['wall_s']:>7.1f}s {side['succeeded']:>9} "
                     f"{side['cluster_start_s']:>12.1f}s  {side['runs_per_node']}")
    lines.append(f"one node / two nodes: {case['ratio_one_over_two']}x")
    return lines
