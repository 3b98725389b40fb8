"""The ranking's and the layer report's words: ties shown as ties, how sure, whether the second opinion agrees,
which models are ranked, freeze advice that never contradicts the gauge (pure: scores given, no models run)."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.core.errors import ModelError
from tlcore.core.transferability import PairedScores
from tlcore.experiments.layers import DepthScore, freeze_advice, gauge
from tlcore.experiments.ranking import Ranking, candidates, describe, skipped_lines

NAMES = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1"]
TIMING = {m: (1.0, False) for m in NAMES}


def scores(logme: list[list[float]], knn: list[float]) -> PairedScores:
    samples = np.array(logme)
    return PairedScores(NAMES, 0.8, samples, np.tile(np.array(knn)[:, None], samples.shape[1]), samples.mean(1),
                        np.array(knn))


def test_a_clear_winner_is_named_with_how_sure():
    result = describe("d", "image", 100, scores([[0.3, 0.31, 0.29, 0.3], [0.1, 0.12, 0.09, 0.1],
                                                 [0.0, 0.01, -0.01, 0.0]], [0.9, 0.8, 0.7]), TIMING, {}, 2.0)
    assert result.best == "mobilenet_v2" and [m.verdict for m in result.models] == ["best", "behind", "behind"]
    assert result.headline == "Best start for your data: MobileNetV2"
    assert result.certainty.startswith("Sure: it scored highest on 4 of 4")
    assert result.second_opinion.startswith("A second check agrees")
    assert Ranking.from_dict(result.to_dict()) == result


def test_a_tie_is_shown_as_a_tie_and_a_disagreeing_second_opinion_is_said():
    noisy = [[0.30, 0.20, 0.32, 0.22], [0.25, 0.27, 0.21, 0.29], [-0.5, -0.49, -0.51, -0.5]]
    result = describe("d", "image", 100, scores(noisy, [0.7, 0.75, 0.9]), TIMING, {"x": "no weights"}, 2.0)
    assert [m.verdict for m in result.models] == ["best", "as good as the best", "behind"]
    assert result.headline.startswith("Best starts for your data (a tie): ")
    assert result.certainty.startswith("Not sure which of")
    assert result.second_opinion.startswith("A second check prefers EfficientNet-Lite1")  # LogME has it behind
    assert result.skipped == {"x": "no weights"}


def test_candidates_are_the_available_models_of_the_kind():
    specs, skipped = candidates("image")
    assert {"mobilenet_v2", "efficientnet_lite0"} <= {s.id for s in specs}
    assert all(s.modality == "image" for s in specs) and "resnet50" in skipped
    with pytest.raises(ModelError, match="minilm-l6"):
        candidates("image", ["minilm-l6"])
    with pytest.raises(ModelError, match="No pretrained image model"):
        candidates("image", ["resnet50"])


def test_models_left_out_for_one_reason_share_a_line():
    assert skipped_lines({"a": "no weights", "b": "no weights", "c": "broken"}) == ["a, b: no weights", "c: broken"]


def test_freeze_advice_words_never_contradict_the_gauge():
    curve = [DepthScore(f"d{i}", 8, 0.1 * i, 0.01, 0.5, 0.01) for i in range(4)]
    assert "linear probe is enough" in freeze_advice(curve, 3)
    assert "fine-tune the whole network" in freeze_advice(curve, 3, far=True)
    assert "first 2 of the 4 stages" in freeze_advice(curve, 1)
    flat = gauge(np.zeros((5, 1000)))  # the pretrained head sees nothing it knows
    assert flat.level == "far" and flat.warn and "transfer may not help" in flat.message
    assert gauge(None) is None
