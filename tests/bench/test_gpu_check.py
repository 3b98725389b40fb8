"""`python -m bench.gpu_check --quick` runs on a CPU too and prints one JSON line with every documented key
(docs/performance.md); on a GPU the same script is the real check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO
from tlcore.core import settings
from tlcore.data import list_builtins
from tlcore.train.device import cpu_bf16_native

pytestmark = pytest.mark.slow

SIDE_KEYS = {"images_per_s", "time_to_accuracy_s", "final_accuracy", "wall_s", "peak_gpu_mb", "bf16",
             "channels_last", "data_device", "batch_size"}


def test_quick_gpu_check_prints_one_json_line_with_both_sides():
    if not any(b.id == "tux-photos" and b.available for b in list_builtins()):
        pytest.skip("tux-photos is not installed")
    proc = subprocess.run([sys.executable, "-m", "bench.gpu_check", "--quick"], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [line] = proc.stdout.strip().splitlines()
    result = json.loads(line)
    assert result["mode"] == "quick" and result["image_size"] == 32 and result["model"] == "mobilenet_v2"
    assert set(result["ratios"]) == {"images_per_s", "time_to_accuracy_s", "peak_gpu_mb"}
    for name in ("ours", "hand_written"):
        side = result[name]
        assert set(side) == SIDE_KEYS, side
        assert 0 <= side["final_accuracy"] <= 1 and side["wall_s"] > 0
    assert result["hand_written"]["bf16"] and result["hand_written"]["channels_last"]
    assert result["ours"]["channels_last"], "the engine trains CNNs channels_last"
    on_gpu = result["ours"]["data_device"] == "cuda"
    native = on_gpu or (cpu_bf16_native() and settings.cpu_bf16())
    assert result["ours"]["bf16"] == native, "the engine trains in bf16 on a GPU and on a CPU with bf16 instructions"
    assert (result["ours"]["peak_gpu_mb"] is None) == (not on_gpu)
