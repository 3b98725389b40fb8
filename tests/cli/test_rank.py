"""`python -m tlcore rank`: a real ranking of two offline models on a tiny folder, the probe's feature cache
filled by it and read by the second ranking, and one plain line for bad input."""

from __future__ import annotations

import json

import pytest

from tlcore.cli import main
from tlcore.core.config import TrainConfig
from tlcore.train.prepare import prepare
from tlcore.train.run_inputs import feature_cache_file

MODELS = ["mobilenet_v2", "efficientnet_lite0"]


@pytest.mark.parametrize("args, message", [
    (["rank", "--data", "/no/such/file.zip"], "file.zip"),
    (["rank", "--data", "digits", "--models", "minilm-l6"], "minilm-l6"),
    (["rank", "--data", "digits", "--models", "no-such-model"], "no-such-model"),
    (["rank", "--data", "digits", "--models", " , "], "--models"),
    (["rank", "--data", "digits", "--models", "resnet50"], "resnet50"),
    (["rank"], "--data"),
])
def test_rank_bad_input_exits_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert message in err


def test_rank_fills_the_probes_feature_cache_and_ranks_again_from_it(tiny_image_folder, capsys):
    args = ["rank", "--data", str(tiny_image_folder), "--models", ",".join(MODELS), "--json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    for model in MODELS:  # exactly the file a linear probe of this data and model reads
        assert feature_cache_file(prepare(TrainConfig(data=str(tiny_image_folder), model=model))).exists()
    assert main(args) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out)
    assert "features" in captured.err  # progress lines on stderr
    assert all(m["from_cache"] for m in second["models"])
    assert sorted(m["model_id"] for m in second["models"]) == sorted(MODELS)
    assert [m["model_id"] for m in second["models"]] == [m["model_id"] for m in first["models"]]
    assert second["models"][0]["verdict"] == "best" and second["headline"].startswith("Best start")
    assert second["n_train"] == 15 and 0 <= second["models"][0]["knn_loo"] <= 1
    assert main(["rank", "--data", str(tiny_image_folder), "--models", ",".join(MODELS)]) == 0
    table = capsys.readouterr().out
    assert "Best start" in table and "logme" in table and "training examples" in table


def test_rank_layers_gives_the_curve_the_freeze_advice_and_the_gauge(tiny_image_folder, capsys):
    args = ["rank", "--data", str(tiny_image_folder), "--layers", "mobilenet_v2"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    depths = [c["depth"] for c in report["curve"]]
    assert depths[-1] == "features.18" and len(depths) == 6 and report["curve"][-1]["dim"] == 1280
    assert 0 <= report["freeze_through"] < 6 and report["freeze_stages"] == report["freeze_through"] + 1
    assert report["advice"] and report["gauge"]["level"] in ("near", "moderate", "far")
    assert 0 < report["gauge"]["msp"] <= 1
    assert main(args) == 0
    assert "features.18" in capsys.readouterr().out
    assert main([*args, "--models", "efficientnet_lite0"]) == 2
    assert "leave out --models" in capsys.readouterr().err


def test_rank_text_models_and_the_layers_of_a_text_encoder(tmp_path, capsys):
    table = tmp_path / "reviews.csv"
    good = ["a wonderful warm film", "great acting and a lovely story", "I loved every minute", "superb and moving"]
    bad = ["a dull boring mess", "terrible acting and an awful plot", "I hated every minute", "tedious and clumsy"]
    table.write_text("text,label\n" + "".join(f"{g} {i},good\n{b} {i},bad\n" for i in range(5)
                                              for g, b in zip(good, bad)))
    assert main(["rank", "--data", str(table), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["modality"] == "text"
    assert sorted(m["model_id"] for m in result["models"]) == ["glove-50d-bag", "minilm-l6"]
    assert main(["rank", "--data", str(table), "--layers", "minilm-l6", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["depth"] for c in report["curve"]] == ["embeddings"] + [f"layer {i}" for i in range(1, 7)]
    assert report["gauge"] is None and report["curve"][-1]["dim"] == 384
    assert main(["rank", "--data", str(table), "--layers", "glove-50d-bag"]) == 2
    assert "no layers" in capsys.readouterr().err
