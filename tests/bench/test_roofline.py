"""`python -m bench --cases roofline --quick` measures the GEMM limit, FLOPs per item and both frozen passes in
one run (a smoke check: no speed is asserted, only that every number is there and consistent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow


def test_quick_roofline_reports_gemm_flops_and_both_frozen_passes():
    proc = subprocess.run([sys.executable, "-m", "bench", "--cases", "roofline", "--quick", "--json"], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [case] = json.loads(proc.stdout)["cases"]
    assert case["kind"] == "roofline" and case["image_size"] == 64
    assert case["gemm_gflops"]["1_thread"] > 0 and case["gemm_gflops"]["per_cpu_s"] > 0
    rows = {(r["model"], r["backend"]): r for r in case["passes"]}
    assert set(rows) == {("mobilenet_v2", "torch"), ("mobilenet_v2", "onnxruntime")}
    eager, ort = rows["mobilenet_v2", "torch"], rows["mobilenet_v2", "onnxruntime"]
    # MobileNetV2 is ~0.6 GFLOP at 224 px; at 64 px (1/12 of the pixels) about 0.05
    assert 0.02 < eager["gflop_per_item"] == ort["gflop_per_item"] < 0.1
    for row in (eager, ort):
        assert row["items_per_s"] > 0 and row["fraction_of_limit"] > 0 and row["fraction_of_core"] > 0
    assert eager["speedup_over_eager"] == 1.0
    assert ort["speedup_over_eager"] == pytest.approx(ort["items_per_s"] / eager["items_per_s"], rel=0.02)
    assert "roofline" in subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=REPO, capture_output=True,
                                        text=True, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
