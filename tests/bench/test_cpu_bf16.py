"""`python -m bench.cpu_bf16` times both precisions of each model's training step and says what the engine picks."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cpu_bf16 import main
from tlcore.train.device import cpu_bf16_native


@pytest.mark.skipif(torch.cuda.is_available(), reason="about the CPU")
def test_the_bench_times_both_precisions_and_reports_the_engines_choice(capsys, monkeypatch):
    monkeypatch.delenv("TLAB_CPU_BF16", raising=False)
    assert main(["--quick", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cpu_bf16_instructions"] == cpu_bf16_native()
    rows = {row["model"]: row for row in result["rows"]}
    assert set(rows) == {"minilm-l6", "vit_small", "mobilenet_v2"}
    for row in rows.values():
        assert row["fp32_step_s"] > 0 and row["bf16_step_s"] > 0
        assert row["bf16_speedup"] == pytest.approx(row["fp32_step_s"] / row["bf16_step_s"])
    assert {row["engine_uses_bf16"] for row in rows.values()} == {cpu_bf16_native()}
