"""`python -m bench.cli_wall`'s one measured call: a real command, its run, and where its time went."""

from __future__ import annotations

import pytest

from bench.cli_wall import SIDES, one_call

pytestmark = pytest.mark.slow


def test_one_call_is_timed_and_split_at_its_runs_timestamps_in_order(tmp_path, tiny_image_folder):
    command = ["-m", "tlcore", "train", "--data", str(tiny_image_folder), "--model", "mobilenet_v2", "--strategy",
               "linear_probe", "--image-size", "32", "--json"]
    call = one_call(str(tmp_path), SIDES["worker started before the check"], timeout_s=300, command=command)
    parts = [call[k] for k in ("to_queued_s", "to_training_s", "run_s", "to_return_s")]
    assert all(p >= 0 for p in parts), call  # queued, then training, then finished, inside the call
    assert call["wall_s"] > call["run_s"] > 0
