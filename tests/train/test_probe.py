"""The linear probe's head stays sane on features a pretrained text model really gives: one dimension all but
constant (MiniLM's sentence embeddings have one, at about 1e-32, which scikit-learn's scaler does not take as
constant)."""

from __future__ import annotations

import torch

from tlcore.train.inputs import FeatureInputs
from tlcore.train.probe import fit_logistic_probe


def test_a_nearly_constant_feature_does_not_blow_up_the_head():
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 2
    features = torch.randn(80, 6, generator=g) * 0.2 + labels[:, None] * 0.3
    features[:, 3] = torch.randn(80, generator=g) * 1e-32  # MiniLM's dimension 127: zero but for float dust
    head = torch.nn.Linear(6, 2)
    idx = torch.arange(80)
    result = fit_logistic_probe(head, FeatureInputs(features, labels, torch.device("cpu")), idx[:60], idx[60:],
                                lambda kind, payload: None)
    assert head.weight.abs().max() < 100, "divided by the spread of a constant feature"
    assert result.history[0]["val_acc"] >= 0.8
    moved = features.clone()
    moved[:, 3] += 1e-3  # a fine-tune nudges the body: the constant dimension moves a little
    assert torch.equal(head(moved[60:]).argmax(1), head(features[60:]).argmax(1))
