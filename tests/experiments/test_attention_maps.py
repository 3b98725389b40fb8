"""Class-activation maps of a real trained run pass the sanity test: on images whose class is the colour of one
bright square on grey noise, the map's mass lies on the square far above chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.support.data import square_images
from tests.support.worker import tiny_config
from tlcore.core.errors import UserError
from tlcore.data import load_source
from tlcore.experiments.attention_maps import (
    class_activation_maps,
    class_margin,
    last_conv_block,
    looked_at,
    model_view,
)
from tlcore.experiments.predict import Predictor
from tlcore.runs import RunStore
from tlcore.runs.execute import execute
from tlcore.runs.paths import read_artifact

COLOURS = {"red": (235, 25, 25), "green": (25, 220, 40), "blue": (30, 40, 235)}


@pytest.fixture(scope="module")
def squares_probe(tmp_path_factory):
    """A linear probe (real run, MobileNetV2 at 224 px: a 7×7 map) on 3 colours × 12 images of one square."""
    root = square_images(tmp_path_factory.mktemp("squares"), COLOURS, 12, side=96, square=24, margin=12,
                         noise=(80, 170), seed=3)
    store = RunStore()
    run_id = store.create_run(tiny_config(root, strategy="linear_probe", image_size=224, test_fraction=0.34).to_dict())
    assert store.claim(run_id) and execute(store, run_id) == "succeeded"
    return run_id, load_source(str(root))


def test_the_map_lies_on_the_object(squares_probe):
    run_id, ds = squares_probe
    test = sorted(read_artifact(run_id, "predictions.json"), key=lambda p: p["index"])
    predictor = Predictor(run_id)
    x, seen = model_view(predictor, [ds.items[p["index"]] for p in test])
    heat = class_activation_maps(predictor.model, x, [predictor.classes.index(p["true"]) for p in test]).numpy()
    spread = seen.astype(int).max(axis=3) - seen.astype(int).min(axis=3)
    square = spread > 150  # saturated colour: the square; the grey noise stays well below
    inside = (heat * square).sum(axis=(1, 2)) / heat.sum(axis=(1, 2))
    chance = square.mean(axis=(1, 2))
    assert len(test) >= 9 and square.any(axis=(1, 2)).all()
    print(f"CAM mass on the square: {inside.mean():.1%} (chance {chance.mean():.1%}, "
          f"{inside.mean() / chance.mean():.1f}×) over {len(test)} test images")
    assert inside.mean() > 2.5 * chance.mean(), (inside.mean(), chance.mean())


def test_overlays_come_back_as_images_the_size_the_model_saw(squares_probe):
    run_id, ds = squares_probe
    pictures = looked_at(run_id, ds, [0, 1], ["blue", "blue"])
    assert [p.shape for p in pictures] == [(224, 224, 3)] * 2 and pictures[0].dtype == np.uint8
    with pytest.raises(UserError, match="no class 'purple'"):
        looked_at(run_id, ds, [0], ["purple"])


def test_the_margin_explains_both_classes_of_a_binary_probe():
    logits = torch.tensor([[0.0, 2.0], [0.0, -1.0]])  # a binary probe's class-0 logit is always 0
    margin = class_margin(logits)
    assert torch.allclose(margin[:, 0], -margin[:, 1]) and torch.allclose(margin[:, 1], torch.tensor([2.0, -1.0]))


def test_a_network_without_convolutions_is_refused_plainly():
    with pytest.raises(UserError, match="need a convolutional network"):
        last_conv_block(torch.nn.Linear(3, 3))
