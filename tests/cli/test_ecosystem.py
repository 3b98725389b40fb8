"""Any timm / Hugging Face model by name, end to end offline from a pre-filled local hub cache, and exports that
load in the libraries themselves: `train --model timm:… / hf:…` through real worker processes, then the
exported folders give the same top-1 as `predict`, and ONNX Runtime matches PyTorch with the labels read back
from the file's metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.cli.test_cli import run_cli
from tests.support.hubcache import MINILM_REPO, TIMM_TINY, fill_hub_cache, use_hub_cache
from tlcore.cli import main
from tlcore.data import load_source

TIMM_ID, HF_ID = f"timm:{TIMM_TINY}", f"hf:{MINILM_REPO}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_image_folder):
    """One image run of a timm model and one text run of a hub encoder, trained by the CLI from the cache."""
    root = tmp_path_factory.mktemp("ecosystem")
    texts = root / "reviews.csv"
    rows = [(f"{'good great lovely' if i % 2 else 'bad awful poor'} film number {i}", "pos" if i % 2 else "neg")
            for i in range(40)]
    texts.write_text("text,label\n" + "\n".join(f"{t},{label}" for t, label in rows))
    with pytest.MonkeyPatch.context() as mp:
        use_hub_cache(mp, fill_hub_cache(root / "hub"))
        mp.setenv("TLAB_DATA_DIR", str(root / "data"))
        runs = {}
        for model, data, extra in ((TIMM_ID, tiny_image_folder, ["--strategy", "finetune", "--image-size", "32"]),
                                   (HF_ID, texts, ["--strategy", "linear_probe"])):
            proc = run_cli("train", "--data", str(data), "--model", model, "--epochs", "1", "--json", *extra,
                           data_dir=root / "data")
            assert proc.returncode == 0, proc.stderr
            result = json.loads(proc.stdout)
            assert result["status"] == "succeeded", result
            runs[model] = (result["run_id"], data)
        yield runs


@pytest.mark.parametrize("model, message", [
    ("timm:convnxt_nano", "did you mean convnext_nano"),
    ("timm:convnext_nano.in12k", "not in the local cache"),
    ("hf:distilbert-base-uncased", "not in the local cache"),
    ("hf:../../etc/passwd", "not a Hugging Face model id"),
])
def test_unknown_or_uncached_names_give_one_line(model, message, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    use_hub_cache(monkeypatch, tmp_path / "empty-hub")
    assert main(["train", "--data", "digits", "--model", model]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and message in err


def test_models_search_lists_cached_library_models_first(capsys, tmp_path, monkeypatch):
    use_hub_cache(monkeypatch, fill_hub_cache(tmp_path / "hub"))
    assert main(["models", "--search", "test_convnext", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["models"]
    assert found[0]["id"] == TIMM_ID and found[0]["available"] and found[0]["params_m"] > 0
    assert all("not in the local cache" in m["reason"] for m in found[1:]) and len(found) > 1
    assert main(["models", "--search", "minilm", "--modality", "text", "--json"]) == 0
    (text,) = json.loads(capsys.readouterr().out)["models"]
    assert text["id"] == HF_ID and text["available"] and text["params_m"] == pytest.approx(22.7, abs=0.1)


def _test_items(run_id: str, data) -> list:
    from tlcore.runs.paths import read_json

    meta = read_json(run_id, "config.json")
    ds = load_source(str(data))
    return [ds.items[i] for i in meta["split"]["test"]], meta


def _exported(trained, model: str, fmt: str, out) -> tuple[str, list, dict]:
    """(run id, its test items, its config.json) of the trained run of `model`, exported as `fmt` to `out`."""
    run_id, data = trained[model]
    items, meta = _test_items(run_id, data)
    assert main(["runs", "export", run_id, "--format", fmt, "--out", str(out)]) == 0
    return run_id, items, meta


def _predicted(run_id: str, inputs: list) -> list[str]:
    from tlcore.experiments.predict import Predictor

    return [top[0][0] for top in Predictor(run_id).predict(inputs, top=1)]


@pytest.mark.slow
def test_a_text_run_exports_a_folder_transformers_loads_with_the_same_top1(trained, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run_id, texts, meta = _exported(trained, HF_ID, "huggingface", tmp_path / "hf")
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "hf")
    with torch.inference_mode():
        logits = model(**tokenizer(texts, truncation=True, padding=True, return_tensors="pt")).logits
    assert [model.config.id2label[int(i)] for i in logits.argmax(1)] == _predicted(run_id, texts)
    card = (tmp_path / "hf" / "README.md").read_text()
    assert meta["data"]["fingerprint"] in card and "linear_probe" in card and "95% interval" in card


@pytest.mark.slow
def test_an_image_run_exports_a_checkpoint_timm_loads_with_the_same_top1(trained, tmp_path):
    import timm
    from PIL import Image

    run_id, images, _ = _exported(trained, TIMM_ID, "timm", tmp_path / "timm")
    config = json.loads((tmp_path / "timm" / "config.json").read_text())
    n = len(config["label_names"])
    model = timm.create_model(TIMM_TINY, pretrained=True, num_classes=n, pretrained_cfg_overlay=dict(
        config["pretrained_cfg"], file=str(tmp_path / "timm" / "model.safetensors"))).eval()
    assert model.pretrained_cfg["input_size"] == [3, 32, 32]  # the run's size, from the exported cfg
    transform = timm.data.create_transform(**timm.data.resolve_model_data_config(model))
    batch = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
    with torch.inference_mode():
        top1 = [config["label_names"][int(i)] for i in model(batch).argmax(1)]
    assert top1 == _predicted(run_id, images)


@pytest.mark.slow
@pytest.mark.parametrize("model", [TIMM_ID, HF_ID])
def test_onnx_runtime_matches_pytorch_and_reads_the_labels_from_the_file(trained, tmp_path, model):
    import onnxruntime

    from tlcore.experiments.predict import Predictor

    run_id, items, _ = _exported(trained, model, "onnx", tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    predictor = Predictor(run_id)
    inputs = ((predictor.image_tensor(items),) if predictor.modality == "image"
              else predictor.encode_texts([str(t) for t in items]))
    with torch.inference_mode():
        expected = predictor.model(*inputs).numpy()
    names = [i.name for i in session.get_inputs()]
    (got,) = session.run(None, {name: x.numpy() for name, x in zip(names, inputs)})
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["labels"]) == predictor.classes
    assert json.loads(metadata["preprocessing"])  # size/mean/std for images, max length for texts


@pytest.mark.slow
def test_push_dry_run_builds_the_folder_and_a_real_push_needs_a_token(trained, tmp_path, capsys, monkeypatch):
    """Only the folder is tested: the upload itself needs the Hub and a token, which this machine lacks."""
    runs = trained
    run_id, _ = runs[HF_ID]
    args = ["runs", "push", run_id, "--repo", "someone/tiny-reviews", "--out", str(tmp_path / "push")]
    assert main([*args, "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["pushed"] is False and {"config.json", "model.safetensors", "README.md", "tokenizer.json"} <= set(
        out["files"])
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(args) == 2
    assert "token" in capsys.readouterr().err
