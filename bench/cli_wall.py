"""`python -m bench.cli_wall`: how long `python -m tlcore train --data tux-photos --model mobilenet_v2 --strategy
linear_probe` takes from the shell, cold (a fresh data directory: decoding, the feature pass and the fit) and
warm (the same data directory again: cached decodes and features), three ways, alternating, side by side: as
now (the worker started before the data check stays for the next command, `TLAB_WORKER_LINGER_S`), with that
worker leaving with its command (`TLAB_WORKER_LINGER_S=0`), and with the worker started when the run is queued
(`TLAB_STANDBY_WORKER=0`, as before). A worker left behind is stopped after each warm call.

The ONNX export of the frozen body is made once per machine (`TLAB_EXPORT_CACHE_DIR`), so one unmeasured call
comes first. Each call's time is also split by the run store's timestamps: command → queued (Python, the data
check, the split), queued → training (the worker's start and imports, when they did not overlap the check),
training → finished (the run), finished → returned.

Last, two floors for the cold call, from the same medians: what a worker must import before it can train (each
import timed alone in a fresh process, Python's own start subtracted) plus the run and the return, and what even
a worker that imported nothing would take (the command until its run is queued, the run, the return). Issue 14
asks for 5 s cold; the floors say which part of the path would have to go to get there.

    python -m bench.cli_wall              # a table, 3 calls of each kind
    python -m bench.cli_wall --repeats 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.appserver import stop_workers

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["-m", "tlcore", "train", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategy", "linear_probe",
           "--json"]
SIDES = {  # (TLAB_STANDBY_WORKER, TLAB_WORKER_LINGER_S)
    "worker left by the last command": ("1", "300"),
    "worker started before the check": ("1", "0"),
    "worker started when queued": ("0", "0"),
}


def one_call(data_dir: str, side: tuple[str, str], timeout_s: float, command: list[str] = COMMAND
             ) -> dict[str, float]:
    """Time one CLI call and read where its time went from the run it queued."""
    env = dict(os.environ, TLAB_DATA_DIR=data_dir, TLAB_STANDBY_WORKER=side[0], TLAB_WORKER_LINGER_S=side[1],
               TLAB_OFFLINE="1", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    began = time.time()
    out = subprocess.run([sys.executable, *command], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=timeout_s, check=False)
    returned = time.time()
    if out.returncode != 0:
        raise RuntimeError(f"the CLI failed ({out.returncode}): {out.stderr[-2000:]}")
    run = _run_record(data_dir, json.loads(out.stdout)["run_id"])
    return {"wall_s": returned - began, "to_queued_s": run.created - began, "to_training_s": run.started - run.created,
            "run_s": run.finished - run.started, "to_return_s": returned - run.finished}


def _run_record(data_dir: str, run_id: str) -> Any:
    from tlcore.runs.store import EVERYONE, RunStore
    return RunStore(Path(data_dir) / "runs.sqlite3").get(run_id, owner=EVERYONE)


WORKER_IMPORTS = {  # what a fresh worker imports before it can take an image linear probe
    "torch": "import torch",
    "torchvision": "import torchvision",
    "scikit-learn's metrics": "import sklearn.metrics",
    "the worker, all of the above included": "import tlcore.runs.worker, tlcore.train.run, tlcore.runs.execute",
}


def import_seconds(statement: str, repeats: int = 3, timeout_s: float = 120) -> float:
    """Median wall time of `python -c statement` in a fresh process, less that of `python -c pass`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))

    def wall(code: str) -> float:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True, timeout=timeout_s,
                       capture_output=True)
        return time.perf_counter() - began
    return max(0.0, statistics.median(wall(statement) - wall("pass") for _ in range(repeats)))


def cold_floors(cold: dict[str, float], worker_import_s: float) -> dict[str, float]:
    """Lower bounds of a cold call from its medians: a worker started with the command cannot train before its
    imports end, and no worker can train before the run is queued."""
    after_start = cold["run_s"] + cold["to_return_s"]
    return {"fresh_worker_s": worker_import_s + after_start,
            "worker_importing_nothing_s": cold["to_queued_s"] + after_start}


def measure(repeats: int, timeout_s: float) -> dict[str, Any]:
    prime = tempfile.mkdtemp(prefix="tlab-cli-prime-")
    one_call(prime, SIDES["worker started before the check"], timeout_s)  # the machine's export, page caches
    calls: dict[str, dict[str, list[dict[str, float]]]] = {side: {"cold": [], "warm": []} for side in SIDES}
    for _ in range(repeats):
        for side, values in SIDES.items():
            data_dir = tempfile.mkdtemp(prefix="tlab-cli-")
            calls[side]["cold"].append(one_call(data_dir, values, timeout_s))
            calls[side]["warm"].append(one_call(data_dir, values, timeout_s))
            stop_workers(Path(data_dir))  # a worker left waiting would take a share of the next calls' CPU
    median = {side: {kind: {key: statistics.median(c[key] for c in cs) for key in cs[0]}
                     for kind, cs in kinds.items()} for side, kinds in calls.items()}
    imports = {name: import_seconds(statement) for name, statement in WORKER_IMPORTS.items()}
    floors = cold_floors(median["worker left by the last command"]["cold"], imports[list(WORKER_IMPORTS)[-1]])
    return {"command": "python " + " ".join(COMMAND), "repeats": repeats, "calls": calls, "median": median,
            "worker_imports_s": imports, "cold_floors": floors}


def render(result: dict[str, Any]) -> str:
    lines = [f"{result['command']}: median of {result['repeats']} calls (seconds)",
             f"{'side':34} {'kind':5} {'wall':>6} {'(min-max)':>12} {'queued':>7} {'training':>9} {'run':>6} "
             f"{'return':>7}"]
    for side, kinds in result["median"].items():
        for kind, m in kinds.items():
            walls = [c["wall_s"] for c in result["calls"][side][kind]]
            lines.append(f"{side:34} {kind:5} {m['wall_s']:6.1f} {min(walls):5.1f}-{max(walls):<5.1f} "
                         f"{m['to_queued_s']:7.1f} {m['to_training_s']:9.1f} {m['run_s']:6.1f} {m['to_return_s']:7.1f}")
    baseline = result["median"]["worker started when queued"]
    for side in list(SIDES)[:2]:
        lines.append(f"{side}, against the worker started when queued: " + ", ".join(
            f"{kind} {baseline[kind]['wall_s'] / result['median'][side][kind]['wall_s']:.2f}x sooner"
            for kind in ("cold", "warm")))
    imports = result["worker_imports_s"]
    lines.append("a fresh worker's imports, each alone: "
                 + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in imports.items()))
    floors = result["cold_floors"]
    lines.append(f"cold floors (issue 14 asks 5 s): a worker started with the command {floors['fresh_worker_s']:.1f} s "
                 f"(its imports, the run, the return); a worker importing nothing "
                 f"{floors['worker_importing_nothing_s']:.1f} s (the command until queued, the run, the return)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli_wall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600, help="seconds one call may take")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.repeats, args.timeout)
    print(json.dumps(result, indent=1) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
