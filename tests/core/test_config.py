"""TrainConfig validation and JSON round trip."""

import pytest

from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.core.stats import mean_interval


def test_round_trip():
    cfg = TrainConfig(data="tux-photos", model="mobilenet_v2", strategy="finetune", epochs=3, per_class=5)
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    assert cfg.with_(strategy="scratch").epochs == 3


@pytest.mark.parametrize("changes, match", [
    ({"strategy": "magic"}, "Unknown strategy"),
    ({"epochs": 0}, "epochs"),
    ({"epochs": 2.5}, "epochs"),
    ({"lr": 3.0}, "Learning rate"),
    ({"test_fraction": 0.0}, "test_fraction"),
    ({"val_fraction": 0.5, "test_fraction": 0.45}, "at least 10%"),
    ({"device": "tpu"}, "device"),
    ({"batch_size": 1}, "batch_size must be a whole number from 2"),  # batch norm cannot train on one example
    ({"data": ""}, "No dataset"),
    ({"freeze_through": ""}, "freeze_through must name a stage of the model, such as blocks.5"),
    ({"freeze_through": 4}, "freeze_through must name a stage"),
])
def test_bad_values_have_plain_messages(changes, match):
    values = {"data": "tux-photos", "model": "mobilenet_v2", **changes}
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**values)


def test_unknown_keys_rejected():
    with pytest.raises(ConfigError, match="Unknown setting"):
        TrainConfig.from_dict({"data": "x", "model": "y", "colour": "red"})


def test_mean_interval_matches_t_distribution():
    from scipy import stats
    values = [0.80, 0.85, 0.90]
    got = mean_interval(values)
    low, high = stats.t.interval(0.95, df=2, loc=0.85, scale=stats.sem(values))
    assert got.mean == pytest.approx(0.85)
    assert got.low == pytest.approx(low) and got.high == pytest.approx(min(high, 1.0))
    assert mean_interval([0.7]).low is None
