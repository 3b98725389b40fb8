"""`python -m bench.cli_wall`: how long `python -m tlcore train --data tux-photos --model mobilenet_v2 --strategy
linear_probe` takes from the shell, cold (a fresh data directory: decoding, the feature pass and the fit) and
warm (the same data directory again: cached decodes and features), three ways, alternating, side by side: as
now (the worker started before the data check stays for the next command, `TLAB_WORKER_LINGER_S`), with that
worker leaving with its command (`TLAB_WORKER_LINGER_S=0`), and with the worker started when the run is queued
(`TLAB_STANDBY_WORKER=0`, as before). A worker left behind is stopped after each warm call.

The ONNX export of the frozen body is made once per machine (`TLAB_EXPORT_CACHE_DIR`), so one unmeasured call
comes first; it also indexes the export of the pretrained body, after which a probe's worker imports no torch at all
(`tlcore.train.frozen_run`), and the command, which names a linear probe, has its worker import only what that needs
(`TLAB_STANDBY_WARM=frozen`). Each call's time is also split by the run store's timestamps: command → queued
(Python, the data check, the split), queued → claimed (the worker's start and imports, when they did not overlap
the check), claimed → finished (the run: the worker's own check of the data, decoding, the feature pass, the fit,
the evaluation), finished → returned.

Last, for issue 14's 5 s cold target: a fresh worker's imports, each timed alone in fresh processes (Python's own
start subtracted), next to the queued → claimed wait they cause; and a floor that holds whatever a worker imports:
the fastest cold call whose worker started at the queueing less that wait (its command until queued, its run,
its return), since no worker can take a run before it is queued. And a floor for today's parts: the least work the
cold probe can do in one fresh process without torch (`bench.bare_probe`), with scikit-learn's fit and with a plain
numpy one.

    python -m bench.cli_wall              # a table, 3 calls of each kind
    python -m bench.cli_wall --repeats 5 --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.appserver import stop_workers
from bench.environ import environ

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["-m", "tlcore", "train", "--data", "tux-photos", "--model", "mobilenet_v2", "--strategy", "linear_probe",
           "--json"]
SIDES = {  # (TLAB_STANDBY_WORKER, TLAB_WORKER_LINGER_S)
    "worker left by the last command": ("1", "300"),
    "worker started before the check": ("1", "0"),
    "worker started when queued": ("0", "0"),
}


def repo_env(**overrides: str) -> dict[str, str]:
    """This environment with `overrides`, and this checkout first on PYTHONPATH (a child imports this code)."""
    return dict(os.environ, **overrides,
                PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def one_call(data_dir: str, side: tuple[str, str], timeout_s: float, command: list[str] = COMMAND
             ) -> dict[str, float]:
    """Time one CLI call and read where its time went from the run it queued."""
    env = repo_env(TLAB_DATA_DIR=data_dir, TLAB_STANDBY_WORKER=side[0], TLAB_WORKER_LINGER_S=side[1],
                   TLAB_OFFLINE="1", HF_HUB_OFFLINE="1")
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


WORKER_IMPORTS = {  # what a fresh worker imports before it can take an image linear probe; not additive
    "a probe's worker, with the body exported (no torch)":
        "import tlcore.runs.worker, onnxruntime, sklearn.linear_model, sklearn.neighbors",
    "scikit-learn's metrics": "import sklearn.metrics",
    "torch": "import torch",
    "torchvision (torch included)": "import torchvision",
    "a PyTorch run's worker (all of these)": "import tlcore.runs.worker, tlcore.train.run",
}


def import_seconds(statement: str, repeats: int = 3, timeout_s: float = 120) -> float:
    """Median over `repeats` interleaved pairs of the wall time of `python -c statement` in a fresh process less
    that of `python -c pass` (the interpreter's own start). Noise can make a cheap import slightly negative."""
    env = repo_env()

    def wall(code: str) -> float:
        began = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, timeout=timeout_s,
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"python -c {code!r} failed ({out.returncode}): {out.stderr[-2000:]}")
        return time.perf_counter() - began
    return statistics.median(wall(statement) - wall("pass") for _ in range(repeats))


FLOOR_SIDE = "worker started when queued"  # nothing else runs while its command checks the data, nor during its run


def no_import_floor(cold_calls: list[dict[str, float]]) -> float:
    """The fastest cold call less its wait for the worker (queued → claimed): its command until the run was queued,
    the run and the return. A worker that imported nothing could take the run no sooner than it was queued, and
    would run it no faster. Taken from calls whose worker starts at the queueing (`FLOOR_SIDE`), so no worker's
    imports competed for the cores during the check or the run."""
    return min(c["wall_s"] - c["to_training_s"] for c in cold_calls)


BARE_SOLVERS = ("scikit-learn", "numpy")


def bare_probe_spec(folder: str, solver: str, data: str = "tux-photos", model: str = "mobilenet_v2",
                    image_size: int | None = None) -> str:
    """A `bench.bare_probe` spec for what the engine's linear probe of `model` on `data` does (its split, size,
    crop, batch and threads), with the path of the engine's ONNX export of the body, made now if the machine has
    none; written to a file in `folder`, whose path is returned. Uses TLAB_DATA_DIR for the engine's caches."""
    import torch

    from tlcore.core import settings
    from tlcore.core.config import TrainConfig
    from tlcore.models import create
    from tlcore.train import prepare
    from tlcore.train.frozen_onnx import onnx_cache_path, onnx_forward, weights_digest

    prep = prepare(TrainConfig(data=data, model=model, strategy="linear_probe", image_size=image_size))
    size, body = prep.resolved.image_size, create(prep.spec, prep.dataset.num_classes, "pretrained").body.eval()
    if onnx_forward(body, torch.zeros(2, 3, size, size), prep.spec.id) is None:
        raise RuntimeError(f"ONNX Runtime cannot run {model}'s body here (see the log), so there is no bare floor")
    path = Path(folder) / f"bare-{solver}.json"
    path.write_text(json.dumps({
        "onnx": str(onnx_cache_path(prep.spec.id, weights_digest(body), size)), "solver": solver, "size": size,
        "files": [str(f) for f in prep.dataset.items], "labels": [int(y) for y in prep.dataset.labels],
        "train": prep.train_idx.tolist(), "test": prep.split.test.tolist(), "crop_pct": prep.spec.crop_pct,
        "batch": prep.resolved.batch_size * 2, "threads": settings.torch_threads(os.cpu_count() or 1)}))
    return str(path)


def bare_probe(spec: str, timeout_s: float) -> dict[str, Any]:
    """One `python -m bench.bare_probe` in a fresh process: its wall time and CPU time (interpreter start and
    exit included) and what it printed."""
    before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.bare_probe", spec], env=repo_env(), cwd=REPO,
                         capture_output=True, text=True, timeout=timeout_s, check=False)
    wall, after = time.perf_counter() - began, resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"bench.bare_probe failed ({out.returncode}): {out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # this child's, as calls are serial
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), wall_s=wall, cpu_s=cpu)


def measure(repeats: int, timeout_s: float) -> dict[str, Any]:
    imports = {name: import_seconds(statement) for name, statement in WORKER_IMPORTS.items()}  # fails early
    prime = tempfile.mkdtemp(prefix="tlab-cli-prime-")
    one_call(prime, SIDES["worker started before the check"], timeout_s)  # the machine's export, page caches
    os.environ["TLAB_DATA_DIR"] = prime  # the engine's caches while the bare probe's specs are made
    specs = {solver: bare_probe_spec(prime, solver) for solver in BARE_SOLVERS}  # fails early, as the imports
    calls: dict[str, dict[str, list[dict[str, float]]]] = {side: {"cold": [], "warm": []} for side in SIDES}
    for _ in range(repeats):
        for side, values in SIDES.items():
            data_dir = tempfile.mkdtemp(prefix="tlab-cli-")
            calls[side]["cold"].append(one_call(data_dir, values, timeout_s))
            calls[side]["warm"].append(one_call(data_dir, values, timeout_s))
            stop_workers(Path(data_dir))  # a worker left waiting would take a share of the next calls' CPU
    bare = {solver: [bare_probe(specs[solver], timeout_s) for _ in range(repeats)] for solver in BARE_SOLVERS}
    median = {side: {kind: {key: statistics.median(c[key] for c in cs) for key in cs[0]}
                     for kind, cs in kinds.items()} for side, kinds in calls.items()}
    return {"command": "python " + " ".join(COMMAND), "repeats": repeats, "calls": calls, "median": median,
            "worker_imports_s": imports,
            "no_import_floor_s": no_import_floor(calls[FLOOR_SIDE]["cold"]),
            "cores": os.cpu_count(),
            "bare_probe": {solver: {**min(runs, key=lambda r: r["wall_s"]), "walls_s": [r["wall_s"] for r in runs],
                                    "wall_s": statistics.median(r["wall_s"] for r in runs),
                                    "cpu_s": statistics.median(r["cpu_s"] for r in runs)}
                           for solver, runs in bare.items()}}


def render(result: dict[str, Any]) -> str:
    lines = [f"{result['command']}: median of {result['repeats']} calls (seconds)",
             f"{'side':34} {'kind':5} {'wall':>6} {'(min-max)':>12} {'queued':>7} {'claimed':>9} {'run':>6} "
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
    now = result["median"]["worker left by the last command"]["cold"]
    lines.append("a fresh worker's imports, each timed alone (not additive): "
                 + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in imports.items())
                 + f"; a cold call waited {now['to_training_s']:.1f} s (median) from queued to claimed")
    lines.append(f"floor of a cold call whatever its worker imports (issue 14 asks 5 s): "
                 f"{result['no_import_floor_s']:.1f} s, the fastest cold call with the {FLOOR_SIDE} less its wait")
    for solver, bare in result.get("bare_probe", {}).items():
        m = bare["marks_s"]
        steps = {"imports": m["imports"], "decoding": m["decoded"] - m["imports"],
                 "frozen pass": m["features"] - m["decoded"], "fit": m["fitted"] - m["features"]}
        lines.append(f"floor for today's parts, one fresh process without torch (bench.bare_probe), {solver} fit: "
                     f"{bare['wall_s']:.1f} s median ({min(bare['walls_s']):.1f}-{max(bare['walls_s']):.1f}), "
                     f"{bare['cpu_s']:.1f} s of CPU, so {bare['cpu_s'] / result['cores']:.1f} s on {result['cores']} "
                     "cores with no core ever idle; the fastest call: "
                     + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps.items())
                     + f", test accuracy {bare['test_accuracy']:.3f}")
    return "\n".join(lines)


def run_cli_wall(quick: bool, seed: int) -> dict[str, Any]:
    """`python -m bench --cases cli`: this bench as a case of the main one (1 call of each kind with --quick, else 3),
    leaving the main bench's data directory as it found it."""
    with environ(TLAB_DATA_DIR=os.environ.get("TLAB_DATA_DIR", "")):
        return dict(measure(1 if quick else 3, 600), kind="cli")


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
