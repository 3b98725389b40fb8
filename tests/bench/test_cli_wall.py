"""`python -m bench.cli_wall`'s one measured call: a real command, its run, and where its time went."""

from __future__ import annotations

import pytest

from bench.cli_wall import SIDES, import_seconds, no_import_floor, one_call

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
