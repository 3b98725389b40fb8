"""`python -m bench.cli_wall`'s one measured call: a real command, its run, and where its time went."""

from __future__ import annotations

import pytest

from bench.cli_wall import SIDES, cold_floors, import_seconds, one_call

pytestmark = pytest.mark.slow


def test_one_call_is_timed_and_split_at_its_runs_timestamps_in_order(tmp_path, tiny_image_folder):
    command = ["-m", "tlcore", "train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy",
               "linear_probe", "--image-size", "32", "--json"]
    call = one_call(str(tmp_path), SIDES["worker started before the check"], timeout_s=300, command=command)
    parts = [call[k] for k in ("to_queued_s", "to_training_s", "run_s", "to_return_s")]
    assert all(p >= 0 for p in parts), call  # queued, then training, then finished, inside the call
    assert call["wall_s"] > call["run_s"] > 0


def test_an_import_is_timed_in_a_fresh_process_without_pythons_own_start():
    """A fresh process pays for torch again, whatever this one has imported; for a standard-library module,
    next to nothing."""
    assert import_seconds("import torch", repeats=1) > import_seconds("import json", repeats=1) + 0.3


def test_the_cold_floors_add_the_parts_a_cold_call_cannot_overlap():
    cold = {"wall_s": 11.5, "to_queued_s": 2.0, "to_training_s": 4.6, "run_s": 3.6, "to_return_s": 0.4}
    assert cold_floors(cold, worker_import_s=5.9) == pytest.approx(
        {"fresh_worker_s": 9.9, "worker_importing_nothing_s": 6.0})
