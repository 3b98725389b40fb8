"""Time estimates price each strategy at the input size it will really run at."""

from __future__ import annotations

import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.experiments import submit
from tlcore.experiments.estimate import WORKER_START_S, estimate_seconds


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU every strategy runs at the model's own size")
def test_a_feature_pass_is_priced_at_the_size_it_runs_at():
    """Prepared for scratch (160 px on a CPU), a linear probe's feature pass runs at 224 px: (224/160)² dearer."""
    scratch = submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="scratch"))
    probe = submit.check(TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="linear_probe"))
    assert (scratch.resolved.image_size, probe.resolved.image_size) == (160, 224)
    from_scratch_prep = estimate_seconds(scratch, "linear_probe") - WORKER_START_S
    from_probe_prep = estimate_seconds(probe, "linear_probe") - WORKER_START_S
    assert from_scratch_prep == pytest.approx(from_probe_prep)
    assert estimate_seconds(scratch, "linear_probe", features_cached=True) == WORKER_START_S
