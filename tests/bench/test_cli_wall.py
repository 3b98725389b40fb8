"""`python -m bench.cli_wall`'s one measured call: a real command, its run, and where its time went."""

from __future__ import annotations

import json

import pytest

from bench.cli_wall import SIDES, bare_probe, import_seconds, no_import_floor, one_call

pytestmark = pytest.mark.slow


def test_one_call_is_timed_and_split_at_its_runs_timestamps_in_order(tmp_path, tiny_image_folder):
    command = ["-m", "tlcore", "train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy",
               "linear_probe", "--image-size", "32", "--json"]
    call = one_call(str(tmp_path), SIDES["worker started before the check"], timeout_s=300, command=command)
    parts = [call[k] for k in ("to_queued_s", "to_training_s", "run_s", "to_return_s")]
    assert all(p >= 0 for p in parts), call  # queued, then training, then finished, inside the call
    assert call["wall_s"] > call["run_s"] > 0


def test_an_import_is_timed_in_a_fresh_process_without_pythons_own_start():
    """torch costs seconds in a fresh process whatever this one has imported; with the interpreter's own start
    taken off, importing nothing costs about nothing."""
    import torch  # noqa: F401  (already here: the fresh process must still pay for it)

    assert abs(import_seconds("pass", repeats=1)) < 0.3
    assert import_seconds("import torch", repeats=1) > import_seconds("import json", repeats=1) + 0.3


def test_the_floor_is_the_fastest_cold_call_without_its_wait_for_the_worker():
    calls = [{"wall_s": 14.4, "to_queued_s": 2.5, "to_training_s": 7.2, "run_s": 4.3, "to_return_s": 0.4},
             {"wall_s": 13.9, "to_queued_s": 2.4, "to_training_s": 7.3, "run_s": 3.9, "to_return_s": 0.3}]
    floor = no_import_floor(calls)
    assert floor == pytest.approx(13.9 - 7.3) and floor < min(c["wall_s"] for c in calls)


@pytest.mark.parametrize("solver", ["scikit-learn", "numpy"])
def test_the_bare_probe_does_its_work_in_one_process_without_torch(tmp_path, tiny_image_folder, solver):
    """A real frozen body (a small convolution exported by the engine's exporter) on real images: every image gets
    a feature vector, the steps end in order within the process's wall time, the blobs' colours are learnt, and
    neither torch nor, for the numpy fit, scikit-learn is imported."""
    import torch

    from tlcore.train.frozen_onnx import export_onnx

    torch.manual_seed(0)
    body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    onnx = tmp_path / "body.onnx"
    onnx.write_bytes(export_onnx(body.eval(), torch.zeros(2, 3, 16, 16)))
    classes = sorted(p for p in tiny_image_folder.iterdir() if p.is_dir())
    files = [(str(f), k) for k, folder in enumerate(classes) for f in sorted(folder.iterdir())]
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"onnx": str(onnx), "files": [f for f, _ in files], "labels": [k for _, k in files],
                                "size": 16, "test_fraction": 0.25, "solver": solver}))
    out = bare_probe(str(spec), timeout_s=120)
    marks = out["marks_s"]
    assert (out["n"], out["feature_dim"]) == (len(files), 8)
    assert 0 < marks["imports"] < marks["decoded"] < marks["features"] < marks["fitted"] < out["wall_s"]
    assert out["test_accuracy"] >= 0.8
    assert not out["torch_imported"] and out["sklearn_imported"] == (solver == "scikit-learn")
