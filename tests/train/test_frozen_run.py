"""A linear probe or nearest-neighbour run of a bundled image model, once the machine has its pretrained body
exported, trains without torch (`tlcore.train.frozen_run`), and gives what the PyTorch path gives: the same
features, head, test results and predictions, and a weight file with the same names that loads into the model.
Any other run, or a damaged export, trains through PyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tests.support.paths import REPO
from tests.support.worker import tiny_config
from tlcore.models import get_spec
from tlcore.runs.artifacts import load_run_model
from tlcore.runs.execute import execute
from tlcore.runs.paths import WEIGHTS, read_json, run_dir
from tlcore.runs.store import RunStore
from tlcore.train import Cancelled, prepare, train_run
from tlcore.train.feature_cache import feature_cache_file
from tlcore.train.frozen_run import export_for, frozen_run
from tlcore.train.onnx_body import find_pretrained_export, pretrained_identity

EXECUTE = """
import sys
from tlcore.runs.execute import execute
from tlcore.runs.store import RunStore
print("STATUS", execute(RunStore(), sys.argv[1]), "TORCH", "torch" in sys.modules)
"""


def queue(data_dir: Path, config, monkeypatch: pytest.MonkeyPatch) -> tuple[RunStore, str]:
    monkeypatch.setenv("TLAB_DATA_DIR", str(data_dir))
    store = RunStore()
    run_id = store.create_run(config.to_dict())
    assert store.claim(run_id, max_active=1)
    return store, run_id


def execute_elsewhere(data_dir: Path, config, monkeypatch: pytest.MonkeyPatch) -> tuple[str, bool, str, str]:
    """Execute `config` in a fresh process: (its final status, whether it imported torch, the run id, its log)."""
    _, run_id = queue(data_dir, config, monkeypatch)
    env = dict(os.environ, TLAB_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", EXECUTE, run_id], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and "STATUS" in out.stdout, out.stderr[-3000:]
    _, status, _, torch_imported = out.stdout.strip().splitlines()[-1].split()
    return status, torch_imported == "True", run_id, out.stderr


@pytest.fixture(scope="module")
def published(tmp_path_factory, tiny_image_folder):
    """A machine whose export cache has only what one PyTorch probe left: (that cache, the probe's data folder and
    run id)."""
    with pytest.MonkeyPatch.context() as mp:
        exports = tmp_path_factory.mktemp("exports")
        mp.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
        config = tiny_config(tiny_image_folder)
        assert find_pretrained_export(get_spec("mobilenet_v2"), 32) is None
        assert export_for(prepare(config)) is None  # so the first probe trains through PyTorch
        data = tmp_path_factory.mktemp("torch-probe")
        store, run_id = queue(data, config, mp)
        assert execute(store, run_id) == "succeeded"
        yield exports, data, run_id


def test_the_first_pytorch_probe_indexes_the_pretrained_export(published, monkeypatch):
    exports, _, _ = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    found = find_pretrained_export(get_spec("mobilenet_v2"), 32)
    assert found is not None and found.onnx.exists() and found.body.exists()
    assert found.onnx.parent.name == "onnx", "the index points at frozen_onnx's own export, not a copy"
    assert all(name.startswith("body.") for name in load_file(str(found.body)))


def test_a_probe_then_needs_no_torch_and_saves_what_pytorch_saved(published, tmp_path, tiny_image_folder,
                                                                   monkeypatch):
    exports, torch_data, torch_run = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    config = tiny_config(tiny_image_folder)
    status, torch_imported, run_id, _ = execute_elsewhere(tmp_path, config, monkeypatch)
    assert status == "succeeded" and not torch_imported

    light = load_file(str(run_dir(run_id) / WEIGHTS))
    monkeypatch.setenv("TLAB_DATA_DIR", str(torch_data))
    heavy = load_file(str(run_dir(torch_run) / WEIGHTS))
    torch_summary = read_json(torch_run, "config.json")["summary"]
    torch_predictions = read_json(torch_run, "predictions.json")
    torch_features = load_file(str(feature_cache_file(prepare(config))))["features"]
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    features = load_file(str(feature_cache_file(prepare(config))))["features"]

    assert sorted(light) == sorted(heavy)
    for name in heavy:
        assert light[name].dtype == heavy[name].dtype and light[name].shape == heavy[name].shape, name
        if name.startswith("body."):
            assert np.array_equal(light[name], heavy[name]), f"{name}: the pretrained body, unchanged"
    assert np.allclose(light["head.weight"], heavy["head.weight"], rtol=1e-4, atol=1e-5)
    assert np.allclose(features, torch_features, rtol=1e-5, atol=1e-6)
    summary = read_json(run_id, "config.json")["summary"]
    for key in ("test_accuracy", "macro_f1", "n_train", "n_test", "epochs", "trainable_params", "split_id"):
        assert summary[key] == torch_summary[key], key
    assert [(p["name"], p["pred"]) for p in read_json(run_id, "predictions.json")] == \
        [(p["name"], p["pred"]) for p in torch_predictions]
    assert read_json(run_id, "config.json")["environment"]["torch"] != "not installed"


def test_its_weight_file_loads_into_the_model_and_predicts_what_it_saved(published, tmp_path, tiny_image_folder,
                                                                          monkeypatch):
    import torch

    from tlcore.data import decode_images

    exports, _, _ = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    config = tiny_config(tiny_image_folder, seed=3)
    status, _, run_id, _ = execute_elsewhere(tmp_path, config, monkeypatch)
    assert status == "succeeded"
    model, _ = load_run_model(run_id)
    prep = prepare(config)
    saved = read_json(run_id, "predictions.json")
    images = decode_images(prep.dataset, 32, crop_pct=prep.spec.crop_pct)[[p["index"] for p in saved]].float()
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) * 255 for v in (prep.spec.mean, prep.spec.std))
    with torch.inference_mode():
        predicted = model((images - mean) / std).argmax(1).tolist()
    assert [prep.dataset.classes[c] for c in predicted] == [p["pred"] for p in saved]


def test_nearest_neighbours_too_and_they_save_no_weights(published, tmp_path, tiny_image_folder, monkeypatch):
    exports, _, _ = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    config = tiny_config(tiny_image_folder, strategy="knn")
    status, torch_imported, run_id, _ = execute_elsewhere(tmp_path / "light", config, monkeypatch)
    assert status == "succeeded" and not torch_imported
    summary = read_json(run_id, "config.json")["summary"]
    assert summary["neighbours"] >= 1 and summary["trainable_params"] == 0 and summary["test_accuracy"] > 0.5
    assert not (run_dir(run_id) / WEIGHTS).exists()
    light = [(p["name"], p["pred"], p["top"]) for p in read_json(run_id, "predictions.json")]
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "torch"))  # the PyTorch path's k-NN, on its own features
    out = train_run(prepare(config), emit=lambda kind, payload: None, should_stop=lambda: False)
    assert out.summary["neighbours"] == summary["neighbours"]
    assert [(p["name"], p["pred"], [list(t) for t in p["top"]]) for p in out.predictions] == light


@pytest.mark.parametrize("change", [{"strategy": "finetune"}, {"image_size": 48}, "TLAB_FEATURE_BACKEND=torch"])
def test_other_runs_build_the_model(published, tiny_image_folder, monkeypatch, change):
    exports, _, _ = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    config = tiny_config(tiny_image_folder)
    if isinstance(change, dict):
        config = config.with_(**change)  # another strategy; a size with no export yet
    else:
        monkeypatch.setenv(*change.split("="))
    assert export_for(prepare(config)) is None
    monkeypatch.delenv("TLAB_FEATURE_BACKEND", raising=False)
    assert export_for(prepare(tiny_config(tiny_image_folder))) is not None


def test_a_cancel_stops_it_during_the_frozen_pass(published, tmp_path, tiny_image_folder, monkeypatch):
    exports, _, _ = published
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(exports))
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    prep = prepare(tiny_config(tiny_image_folder))
    seen: list[str] = []
    with pytest.raises(Cancelled):
        frozen_run(prep, export_for(prep), emit=lambda kind, payload: seen.append(payload.get("message", kind)),
                   should_stop=lambda: "Computing pretrained features" in seen)
    assert "done" not in seen and not feature_cache_file(prep).exists()


def test_a_command_guesses_whether_its_runs_need_torch(tmp_path, monkeypatch):
    """Only frozen strategies of a bundled image model this machine has exported, with no GPU driver: its worker then
    imports no torch while it waits (`ready_executor`)."""
    from tlcore.cli.output import _without_torch

    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("tlcore.cli.output.driver_present", lambda: False)
    assert not _without_torch(["linear_probe"], "mobilenet_v2"), "nothing exported yet"
    (tmp_path / "pretrained").mkdir()
    (tmp_path / "pretrained" / "mobilenet_v2-224-0123456789abcdef0123.json").write_text("{}")
    assert _without_torch(["linear_probe"], "mobilenet_v2") and _without_torch(("linear_probe", "knn"), "mobilenet_v2")
    for strategy_ids, model_id in [(["linear_probe", "finetune"], "mobilenet_v2"), (None, "mobilenet_v2"),
                                   (["linear_probe"], "efficientnet_lite0"), (["linear_probe"], "minilm-l6"),
                                   (["linear_probe"], "timm:resnet18"), (["linear_probe"], "no-such-model"),
                                   (["no-such-strategy"], "mobilenet_v2")]:
        assert not _without_torch(strategy_ids, model_id), (strategy_ids, model_id)


def test_a_model_from_a_hub_has_no_pinned_identity():
    assert pretrained_identity(get_spec("mobilenet_v2")) is not None
    assert pretrained_identity(get_spec("resnet18")) is None


@pytest.mark.parametrize("damaged", ["onnx", "body"])
def test_a_damaged_export_falls_back_to_pytorch(published, tmp_path, tiny_image_folder, monkeypatch, damaged):
    exports, _, _ = published
    copy = tmp_path / "exports"
    subprocess.run(["cp", "-r", str(exports), str(copy)], check=True)
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(copy))
    found = find_pretrained_export(get_spec("mobilenet_v2"), 32)
    getattr(found, damaged).write_bytes(b"not what it should be")
    config = tiny_config(tiny_image_folder)
    status, torch_imported, run_id, log = execute_elsewhere(tmp_path / "data", config, monkeypatch)
    assert status == "succeeded" and torch_imported
    assert "could not be used" in log and "training through PyTorch" in log
    assert read_json(run_id, "config.json")["summary"]["test_accuracy"] > 0.5
    again = find_pretrained_export(get_spec("mobilenet_v2"), 32)  # the PyTorch run exported and indexed anew
    assert again is not None and load_file(str(again.body)) and again.onnx.read_bytes() != b"not what it should be"
    status, torch_imported, _, _ = execute_elsewhere(tmp_path / "after", config, monkeypatch)
    assert status == "succeeded" and not torch_imported
