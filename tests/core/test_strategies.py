"""The strategy registry is the one place that declares strategies: everything else reads it."""

import pytest

from tlcore.core import strategies
from tlcore.core.errors import ConfigError
from tlcore.models import get_spec
from tlcore.train.plans import has_plan


def test_every_strategy_has_its_words_colour_and_a_way_to_be_solved():
    assert len(set(strategies.IDS)) == len(strategies.STRATEGIES)
    assert len({s.title for s in strategies.STRATEGIES}) == len(strategies.STRATEGIES)  # one name per strategy
    assert len({s.colour for s in strategies.STRATEGIES}) == len(strategies.STRATEGIES)
    for s in strategies.STRATEGIES:
        assert s.title and s.label and s.description.endswith(")") or s.description.endswith(".")
        assert has_plan(s.id), f"{s.id} has no plan in tlcore.train.plans"
        assert s.solver in ("loop", "probe", "knn")
    assert [s.id for s in strategies.STRATEGIES if not s.pretrained] == ["scratch", "distill"]


def test_only_pretrained_strategies_count_as_transfer():
    """Distillation's network never holds pretrained weights: it is neither transfer nor the scratch baseline,
    but it does need them (for its teacher) and fills the frozen-feature cache a linear probe reads."""
    assert [s for s in strategies.IDS if not strategies.is_transfer(s)] == ["scratch", "distill"]
    assert strategies.is_transfer("old_strategy")  # an old run's unknown id keeps counting as transfer
    distill = strategies.get("distill")
    assert distill.needs_pretrained_weights and distill.frozen_pass_for("image") and not distill.frozen_features


def test_unknown_ids_are_refused_in_plain_words_and_shown_readably():
    with pytest.raises(ConfigError, match="Unknown strategy 'magic'. Choose one of: scratch"):
        strategies.get("magic")
    with pytest.raises(ConfigError, match="listed twice"):
        strategies.check_ids(["scratch", "scratch"])
    assert strategies.title("old_strategy") == "Old strategy" and strategies.label("old_strategy") == "old strategy"
    assert strategies.order("old_strategy")[0] == len(strategies.IDS)


def test_adapters_are_offered_only_for_models_that_support_them():
    assert "lora" in [s.id for s in strategies.strategies_for(get_spec("minilm-l6"))]
    assert "lora" not in [s.id for s in strategies.strategies_for(get_spec("mobilenet_v2"))]
