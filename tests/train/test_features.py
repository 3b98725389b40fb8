"""The frozen pass on ONNX Runtime: the same features as the eager body (real MobileNetV2 weights), exported
once and reused, re-exported when the cached file is damaged, and the eager body when forced or on a GPU."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import torch

from tlcore.models import create, get_spec
from tlcore.train.features import compute_features
from tlcore.train.frozen_onnx import BACKEND_ENV, torch_reason
from tlcore.train.inputs import ImageInputs

N = 6  # two batches of 4 and 2: the exported graph's batch axis is dynamic


@cache
def body() -> torch.nn.Module:
    return create(get_spec("mobilenet_v2"), 3, "pretrained").body.eval()


def inputs() -> ImageInputs:
    images = torch.randint(0, 256, (N, 3, 64, 64), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    spec = get_spec("mobilenet_v2")
    return ImageInputs(images, torch.zeros(N, dtype=torch.long), spec.mean, spec.std, torch.device("cpu"),
                       augment=False, channels_last=True)


def features() -> torch.Tensor:
    return compute_features(body(), inputs(), N, 4, model_id="mobilenet_v2")


def exports(export_dir: Path) -> list[Path]:
    return sorted((export_dir / "onnx").glob("*.onnx"))


@pytest.fixture
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh export cache (returned: what the tests look at) and a fresh data directory."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TLAB_EXPORT_CACHE_DIR", str(tmp_path / "exports"))
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    return tmp_path / "exports"


@cache
def eager_features() -> torch.Tensor:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(BACKEND_ENV, "torch")
        return features()


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def test_onnx_runtime_features_equal_the_eager_body_and_the_export_is_reused(export_dir):
    first = features()
    assert len(exports(export_dir)) == 1, "the first pass exports the body once"
    assert first.shape == (N, 1280)
    assert relative_error(first, eager_features()) < 1e-3
    before = exports(export_dir)[0].stat()
    again = features()
    after = exports(export_dir)[0].stat()
    assert len(exports(export_dir)) == 1
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns), "re-exported"
    assert torch.equal(again, first)


def test_the_export_serves_every_data_directory_and_never_lands_in_one(export_dir, tmp_path, monkeypatch):
    first = features()
    (export,) = exports(export_dir)
    written = export.stat().st_mtime_ns
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path / "another-data-dir"))
    assert torch.equal(features(), first)
    assert exports(export_dir) == [export] and export.stat().st_mtime_ns == written, "exported again"
    assert not list((tmp_path / "data").rglob("*.onnx")) and not list((tmp_path / "another-data-dir").rglob("*.onnx"))


def test_a_damaged_export_is_replaced(export_dir):
    features()
    exports(export_dir)[0].write_bytes(b"not an onnx graph")
    assert relative_error(features(), eager_features()) < 1e-3
    assert exports(export_dir)[0].stat().st_size > 1_000_000


def test_forcing_torch_takes_the_eager_body(export_dir, monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "torch")
    assert torch.equal(features(), eager_features())
    assert exports(export_dir) == [], "nothing is exported when PyTorch is forced"


def test_the_eager_body_is_kept_on_a_gpu_and_under_bf16(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert torch_reason(torch.device("cpu"), False) is None
    assert "cuda" in torch_reason(torch.device("cuda"), False)
    assert "bf16" in torch_reason(torch.device("cpu"), True)


def test_a_batch_onnx_runtime_cannot_take_goes_to_the_eager_body_and_so_do_the_next(export_dir, caplog):
    from tlcore.train.features import frozen_forward

    x = inputs()
    first = next(iter(x.batches(torch.arange(N), 4, train=False)))[0]
    forward = frozen_forward(body(), x, first, False, "mobilenet_v2")
    assert relative_error(forward(*first), body()(*first)) < 1e-3
    bigger = torch.nn.functional.interpolate(first[0], size=96)  # the exported graph is fixed at 64 px
    with torch.inference_mode():
        want = body()(bigger)
    assert relative_error(forward(bigger), want) < 1e-5, "the eager body answered, not an error"
    assert "went back to PyTorch mid-pass" in caplog.text
    assert torch.equal(forward(*first), body()(*first).float()), "later batches stay on the eager body"
