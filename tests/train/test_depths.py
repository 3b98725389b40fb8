"""Features at several depths from one pass of the real pretrained networks: the deepest tap is exactly the
body's feature vector, rows come back in the order asked for, and the ImageNet logits come with them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tlcore.core.config import TrainConfig
from tlcore.core.errors import ModelError
from tlcore.models import create
from tlcore.train.depths import depth_features
from tlcore.train.prepare import prepare
from tlcore.train.run_inputs import build_inputs


@pytest.mark.parametrize("model", ["mobilenet_v2", "efficientnet_lite0"])
def test_deepest_tap_equals_the_body_and_rows_keep_their_order(model, tiny_image_folder):
    prep = prepare(TrainConfig(data=str(tiny_image_folder), model=model, image_size=64, device="cpu"))
    inputs = build_inputs(prep, torch.device("cpu"), lambda *_: None)
    rows = np.array([5, 0, 17, 3])
    depths = depth_features(prep, inputs, rows)
    assert 4 <= len(depths.names) <= 6 and depths.logits.shape == (4, 1000)
    assert all(f.shape[0] == 4 for f in depths.features)
    assert depths.features[0].shape[1] < depths.features[-1].shape[1]  # shallow stages are narrower
    body = create(prep.spec, 3, "pretrained").body.eval()
    with torch.inference_mode():
        (x,), _, _ = next(inputs.batches(torch.as_tensor(rows), 8, train=False))
        expected = body(x).numpy()
    np.testing.assert_allclose(depths.features[-1], expected, rtol=1e-4, atol=1e-4)


def test_a_bag_of_word_vectors_has_no_layers_to_compare(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("text,label\n" + "".join(f"good film {i},pos\nbad film {i},neg\n" for i in range(12)))
    prep = prepare(TrainConfig(data=str(table), model="glove-50d-bag", device="cpu"))
    inputs = build_inputs(prep, torch.device("cpu"), lambda *_: None)
    with pytest.raises(ModelError, match="no layers"):
        depth_features(prep, inputs, np.arange(4))
