"""The loop's mechanics on a tiny linear model: cancel, early stopping, schedule, batch-norm averaging,
input pipelines and metrics (checked against scikit-learn or by hand)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score
from torch import nn

from tlcore.train.inputs import FeatureInputs, TextInputs, random_resized_crop_flip
from tlcore.train.loop import Cancelled, LoopSettings, fit, warmup_cosine
from tlcore.train.metrics import evaluate, expected_calibration_error
from tlcore.train.plans import Plan, average_batchnorm_over_epoch


def probe_plan(dim: int = 4, classes: int = 2, lr: float = 0.1) -> Plan:
    torch.manual_seed(0)
    head = nn.Linear(dim, classes)
    return Plan("linear_probe", head, [{"params": list(head.parameters()), "lr": lr}], uses_cached_features=True)


def blobs(n: int = 40) -> FeatureInputs:
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    features = torch.randn(n, 4, generator=g) + labels[:, None].float() * 3
    return FeatureInputs(features, labels, torch.device("cpu"))


def test_cancel_flag_stops_the_loop_between_steps():
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    settings = LoopSettings(epochs=100, batch_size=4)
    with pytest.raises(Cancelled):
        fit(probe_plan(), blobs(), torch.arange(40), torch.arange(40), settings, emit=lambda k, d: None,
            should_stop=should_stop, generator=torch.Generator())
    assert calls["n"] == 4


def test_early_stopping_waits_patience_epochs_after_the_best():
    # a learning rate of 0 never improves validation after epoch 1
    settings = LoopSettings(epochs=50, batch_size=8, patience=3)
    result = fit(probe_plan(lr=0.0), blobs(), torch.arange(30), torch.arange(30, 40), settings,
                 emit=lambda k, d: None, should_stop=lambda: False, generator=torch.Generator())
    assert result.stopped_early and result.best_epoch == 1 and len(result.history) == 4


def test_probe_learns_separable_blobs():
    settings = LoopSettings(epochs=20, batch_size=8, patience=0)
    result = fit(probe_plan(), blobs(), torch.arange(30), torch.arange(30, 40), settings,
                 emit=lambda k, d: None, should_stop=lambda: False, generator=torch.Generator())
    assert result.history[-1]["val_acc"] == 1.0


def test_warmup_then_cosine_to_zero():
    f = warmup_cosine(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.5, abs=0.01) and f(100) == pytest.approx(0.0)


def test_batchnorm_keeps_the_epoch_average_of_batch_statistics():
    bn = nn.BatchNorm1d(3).train()
    average_batchnorm_over_epoch(bn)
    batches = [torch.randn(16, 3) * s + s for s in (1.0, 2.0, 3.0)]
    for b in batches:
        bn(b)
    expected = torch.stack([b.mean(0) for b in batches]).mean(0)
    assert torch.allclose(bn.running_mean, expected, atol=1e-5)


def test_random_crop_flip_is_reproducible_and_keeps_shape():
    x = torch.rand(5, 3, 32, 32)
    a = random_resized_crop_flip(x, torch.Generator().manual_seed(1))
    b = random_resized_crop_flip(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_text_batches_are_padded_to_their_own_longest_and_keep_indices():
    lengths = [3, 9, 2, 5, 7, 4]
    ids = torch.zeros(6, 10, dtype=torch.long)
    mask = torch.zeros(6, 10, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = i + 1
        mask[i, :n] = 1
    inputs = TextInputs(ids, mask, torch.arange(6), torch.device("cpu"))
    seen = []
    for (batch_ids, _), labels, idx in inputs.batches(torch.arange(6), 2, train=True,
                                                               generator=torch.Generator().manual_seed(0)):
        assert batch_ids.shape[1] == max(lengths[i] for i in idx.tolist())
        assert torch.equal(labels, idx) and torch.equal(batch_ids[:, 0], idx + 1)
        seen += idx.tolist()
    assert sorted(seen) == list(range(6))


def test_metrics_agree_with_sklearn_and_ece_by_hand():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=50)
    labels = rng.integers(0, 3, size=50)
    ev = evaluate(probs, labels, ["a", "b", "c"])
    preds = probs.argmax(1)
    assert ev.accuracy == pytest.approx(accuracy_score(labels, preds))
    assert ev.macro_f1 == pytest.approx(f1_score(labels, preds, average="macro"))
    assert np.asarray(ev.confusion).sum() == 50 and ev.per_class["a"]["support"] == int((labels == 0).sum())
    # two bins by hand: confidence 0.9 (all right) and 0.6 (half right)
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 0, 0, 1])
    assert expected_calibration_error(p, y) == pytest.approx(0.5 * 0.1 + 0.5 * 0.1)


def test_a_single_leftover_example_joins_the_previous_batch():
    """BatchNorm raises on a training batch of one (33 items, batch 32): the tail must be folded in."""
    inputs = FeatureInputs(torch.randn(33, 4), torch.zeros(33, dtype=torch.long), torch.device("cpu"))
    sizes = [len(y) for _, y, _ in inputs.batches(torch.arange(33), 32, train=True, generator=torch.Generator())]
    assert sizes == [33]
    bn = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    plan = Plan("scratch", bn, [{"params": list(bn.parameters()), "lr": 0.01}])
    fit(plan, inputs, torch.arange(33), torch.arange(33), LoopSettings(epochs=1, batch_size=32),
        emit=lambda k, d: None, should_stop=lambda: False, generator=torch.Generator())


def test_a_diverged_run_is_reported_not_saved_as_best():
    from tlcore.train.loop import Diverged
    features = torch.randn(16, 4)
    features[0, 0] = float("nan")
    inputs = FeatureInputs(features, torch.arange(16) % 2, torch.device("cpu"))
    with pytest.raises(Diverged, match="lower the learning rate"):
        fit(probe_plan(), inputs, torch.arange(16), torch.arange(16), LoopSettings(epochs=3, batch_size=4),
            emit=lambda k, d: None, should_stop=lambda: False, generator=torch.Generator())


def test_gradual_patience_starts_when_the_body_joins():
    body = nn.Linear(4, 4)
    model = nn.Sequential(body, nn.Linear(4, 2))
    plan = Plan("gradual", model, [{"params": list(model.parameters()), "lr": 0.0}], frozen_body_epochs=4,
                body=body)
    # lr 0: validation never improves after epoch 1; without the rule the run would end in the frozen phase
    settings = LoopSettings(epochs=20, batch_size=8, patience=2)
    result = fit(plan, blobs(), torch.arange(30), torch.arange(30, 40), settings,
                 emit=lambda k, d: None, should_stop=lambda: False, generator=torch.Generator())
    assert len(result.history) == 6 and result.stopped_early


@pytest.mark.parametrize("n, batch", [(17, 16), (49, 16), (32, 16), (5, 16), (33, 32)])
def test_step_count_matches_the_batches_the_loop_runs(n, batch):
    from tlcore.train.prepare import steps_per_epoch
    inputs = FeatureInputs(torch.randn(n, 4), torch.zeros(n, dtype=torch.long), torch.device("cpu"))
    actual = sum(1 for _ in inputs.batches(torch.arange(n), batch, train=True, generator=torch.Generator()))
    assert steps_per_epoch(n, batch) == actual


def test_epoch_probe_sees_each_epochs_weights_and_its_numbers_join_the_row():
    seen = []

    def probe(module: nn.Module, inputs) -> dict[str, float]:
        seen.append(module.weight.detach().clone())
        return {"probe_epoch": float(len(seen))}

    settings = LoopSettings(epochs=3, batch_size=8, patience=0)
    result = fit(probe_plan(), blobs(), torch.arange(30), torch.arange(30, 40), settings, emit=lambda k, d: None,
                 should_stop=lambda: False, generator=torch.Generator(), epoch_probe=probe)
    assert [row["probe_epoch"] for row in result.history] == [1.0, 2.0, 3.0]
    assert not torch.equal(seen[0], seen[1])  # the weights after each epoch, not a copy from the start


def test_the_optimiser_uses_the_fused_adamw_kernel_and_skips_frozen_parameters():
    from tlcore.train.loop import adamw

    frozen, trained = nn.Linear(2, 2), nn.Linear(2, 2)
    frozen.requires_grad_(False)
    optimizer = adamw([{"params": list(frozen.parameters()), "lr": 0.1},
                       {"params": list(trained.parameters()), "lr": 0.1}], 0.01)
    assert optimizer.defaults["fused"]
    before = frozen.weight.detach().clone()
    trained(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    assert torch.equal(frozen.weight, before)


def test_a_time_budget_ends_training_early_and_keeps_the_best_epoch():
    """A run from the app has a wall-time budget: past it the loop stops (mid-epoch if need be) and restores the
    best epoch so far, instead of holding the shared queue for its 200 epochs."""
    settings = LoopSettings(epochs=20_000, batch_size=4, patience=0, max_seconds=0.3)  # minutes without a budget
    started = time.monotonic()
    result = fit(probe_plan(lr=1e-3), blobs(), torch.arange(40), torch.arange(40), settings, emit=lambda k, d: None,
                 should_stop=lambda: False, generator=torch.Generator())
    assert result.out_of_time and not result.stopped_early and 1 <= len(result.history) < 20_000
    assert time.monotonic() - started < 10
    best = max(result.history, key=lambda r: (r["val_acc"], -r["val_loss"]))
    assert result.best_epoch == best["epoch"]
