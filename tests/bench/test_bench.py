"""`python -m bench --quick --json` works end to end: both sides of every case ran and the JSON has its shape.

A smoke check only: no timing is asserted (speed depends on the machine and on what else runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SIDE_KEYS = {"role", "name", "final_accuracy", "wall_s", "train_start_s", "epochs", "memory", "extra",
             "time_to_target_s", "steady_per_s"}


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "result.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--json", "--no-ui", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = json.loads(proc.stdout)
    assert printed == json.loads(out.read_text())
    return printed


def test_quick_bench_runs_both_sides_of_each_case(quick_result):
    assert quick_result["mode"] == "quick"
    assert [c["name"] for c in quick_result["cases"]] == ["vision", "text"]
    ran = [c for c in quick_result["cases"] if "skipped" not in c]
    assert ran, "no bench case could run (built-in data missing?)"
    for case in ran:
        roles = [s["role"] for s in case["sides"]]
        assert roles[0] == "reference" and "ours" in roles
        assert 0 <= case["target_accuracy"] <= 1
        for side in case["sides"]:
            assert set(side) >= SIDE_KEYS, side.keys()
            assert 0 <= side["final_accuracy"] <= 1
            assert len(side["epochs"]) >= 1
            assert side["wall_s"] > 0 and side["memory"]["peak_mem_mb"] > 0
            assert all(len(e) == 3 and 0 <= e[2] <= 1 for e in side["epochs"])
        ours = [s for s in case["sides"] if s["role"] == "ours"]
        assert ours[0]["name"].startswith("Transfer Lab default")
        assert all("speedup_time_to_target" in s and "ratios_ours_over_reference" in s for s in ours)


def test_every_sides_test_accuracy_is_an_exact_count_of_the_test_items(quick_result):
    """So reaching the reference's accuracy exactly counts as reaching it (as a float32 mean it fell short)."""
    for case in (c for c in quick_result["cases"] if "skipped" not in c):
        for side in case["sides"]:
            for _, _, accuracy in side["epochs"]:
                assert accuracy * case["n_test"] == pytest.approx(round(accuracy * case["n_test"]), abs=1e-9)


def test_quick_bench_reports_the_probe_feature_pass(quick_result):
    probes = [s for c in quick_result["cases"] if "skipped" not in c for s in c["sides"]
              if s["role"] == "ours" and s["extra"]["strategy"] == "linear_probe"]
    assert probes, "every case runs our linear probe"
    assert all(s["extra"]["feature_pass_s"] > 0 for s in probes)


def test_quick_bench_times_each_cpu_bf16_side_in_float32_too(quick_result):
    """On a CPU with bfloat16 instructions, the text fine-tune trains under autocast; its float32 twin shows
    what that brings, side by side in the same run."""
    import torch

    from tlcore.core import settings
    from tlcore.train.device import cpu_bf16_native

    ran = [c for c in quick_result["cases"] if "skipped" not in c]
    ours = {s["name"]: s for c in ran for s in c["sides"] if s["role"] == "ours"}
    in_bf16 = [name for name, s in ours.items() if s["extra"]["bf16"] and s["extra"]["device"] == "cpu"]
    assert bool(in_bf16) == (not torch.cuda.is_available() and cpu_bf16_native() and settings.cpu_bf16())
    for name in in_bf16:
        twin = ours[f"{name}, float32"]
        assert not twin["extra"]["bf16"] and twin["extra"]["strategy"] == ours[name]["extra"]["strategy"]


def test_unknown_case_is_a_plain_error():
    proc = subprocess.run([sys.executable, "-m", "bench", "--cases", "audio"], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("Unknown case 'audio'")
