"""`python -m bench.ranking --quick --json`: the ranking next to measured probe and fine-tune accuracy, with
Kendall's τ, end to end on digits (2 models, 1 seed, 5 per class, a 2-step fine-tune). No accuracy asserted."""

from __future__ import annotations

import json

import pytest

from bench.ranking import main, render

pytestmark = pytest.mark.slow


def test_quick_ranking_evaluation_has_every_column(capsys):
    assert main(["--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "quick"
    [digits] = out["results"]
    assert digits["data"] == "digits" and digits["per_class"] == 5 and digits["finetune_max_steps"] == 2
    assert sorted(m["model"] for m in digits["models"]) == ["efficientnet_lite0", "mobilenet_v2"]
    for m in digits["models"]:
        assert 0 <= m["probe"] <= 1 and 0 <= m["finetune"] <= 1 and len(m["probe_seeds"]) == 1
    assert digits["tau_probe"] in (-1.0, 1.0, None) and isinstance(digits["top_within_2_points_probe"], bool)
    assert isinstance(digits["a_tied_top_within_2_points_finetune"], bool)
    assert "Kendall τ" in render(out["results"]) and "(≤2 steps)" in render(out["results"])
