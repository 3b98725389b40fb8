"""`python -m bench.cli_wall`'s one measured call: a real command, its run, and where its time went."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cli_wall import SIDES, bare_probe, bare_probe_spec, import_seconds, no_import_floor, one_call

pytestmark = pytest.mark.slow


def test_one_call_is_timed_and_split_at_its_runs_timestamps_in_order(tmp_path, tiny_image_folder):
    command = ["-m", "tlcore", "train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy",
               "linear_probe", "--image-size", "32", "--json"]
    call = one_call(str(tmp_path), SIDES["worker started before the check"], timeout_s=300, command=command)
    parts = [call[k] for k in ("to_queued_s", "to_training_s", "run_s", "to_return_s")]
    assert all(p >= 0 for p in parts), call  # queued, then training, then finished, inside the call
    assert call["wall_s"] > call["run_s"] > 0


def test_it_is_a_case_of_the_main_bench():
    from bench.__main__ import special_case
    from bench.cli_wall import run_cli_wall

    assert special_case("cli") is run_cli_wall


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
def test_the_bare_probe_does_the_engines_probe_work_in_one_process_without_torch(tmp_path, monkeypatch,
                                                                                tiny_image_folder, solver):
    """The spec names the engine's export of the body (made if missing), split, size and batch; the fresh process
    gives every image a feature vector, ends its steps in order within its wall time, learns the blobs' colours,
    and imports neither torch nor, for the numpy fit, scikit-learn."""
    monkeypatch.setenv("TLAB_DATA_DIR", str(tmp_path))
    spec_path = bare_probe_spec(str(tmp_path), solver, data=str(tiny_image_folder), image_size=32)
    spec = json.loads(Path(spec_path).read_text())
    assert Path(spec["onnx"]).is_file() and spec["size"] == 32 and len(spec["files"]) == 24
    assert not set(spec["train"]) & set(spec["test"])
    out = bare_probe(spec_path, timeout_s=120)
    marks = out["marks_s"]
    assert (out["n"], out["feature_dim"]) == (24, 1280)
    assert 0 < marks["imports"] < marks["decoded"] < marks["features"] < marks["fitted"] < out["wall_s"]
    assert out["cpu_s"] > 0 and out["test_accuracy"] >= 0.8
    assert not out["torch_imported"] and out["sklearn_imported"] == (solver == "scikit-learn")
