"""Distillation: the loss (checked against plain cross-entropy and its known large-temperature gradient), the
transfer set, and real tiny runs for images and texts whose summary names the teacher's accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.train import prepare, train_run
from tlcore.train.distill import UNLABELLED, distillation_loss, hide_labels
from tlcore.train.prepare import transfer_set


def logits(n: int = 6, c: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, c, generator=torch.Generator().manual_seed(seed))


def test_alpha_zero_is_cross_entropy():
    s, t, y = logits(), logits(seed=1), torch.tensor([0, 1, 2, 3, 0, 1])
    loss = distillation_loss(s, t, y, temperature=4.0, alpha=0.0, label_smoothing=0.1)
    assert torch.allclose(loss, F.cross_entropy(s, y, label_smoothing=0.1))


def test_the_soft_part_is_zero_when_the_student_answers_like_the_teacher():
    s, y = logits(), torch.tensor([0, 1, 2, 3, 0, 1])
    assert distillation_loss(s, s.clone(), y, temperature=4.0, alpha=1.0).abs().item() < 1e-6
    assert distillation_loss(s, logits(seed=1), y, temperature=4.0, alpha=1.0).item() > 1e-3


def test_large_temperature_gradient_is_the_logit_gap_over_classes_and_batch():
    """With T² scaling the soft gradient tends to (s − t) / (C·N) for zero-mean logits, whatever T."""
    n, c = 5, 3
    s = logits(n, c)
    s = (s - s.mean(1, keepdim=True)).requires_grad_()
    t = logits(n, c, seed=2)
    t = t - t.mean(1, keepdim=True)
    for temperature in (50.0, 200.0):
        (grad,) = torch.autograd.grad(distillation_loss(s, t, torch.zeros(n, dtype=torch.long),
                                                        temperature=temperature, alpha=1.0), s)
        assert torch.allclose(grad, (s - t).detach() / (c * n), atol=2e-3)


def test_unlabelled_rows_count_in_the_soft_part_only():
    s, t = logits(), logits(seed=1)
    y = torch.tensor([0, 1, 2, UNLABELLED, UNLABELLED, 1])
    loss = distillation_loss(s, t, y, temperature=2.0, alpha=0.3)
    soft = F.kl_div(F.log_softmax(s / 2, 1), F.softmax(t / 2, 1), reduction="batchmean")
    hard = F.cross_entropy(s[[0, 1, 2, 5]], y[[0, 1, 2, 5]])
    assert torch.allclose(loss, 0.3 * 4 * soft + 0.7 * hard, atol=1e-6)
    all_hidden = torch.full((6,), UNLABELLED)
    assert torch.isfinite(distillation_loss(s, t, all_hidden, temperature=2.0, alpha=0.3))


def test_transfer_set_is_the_unused_training_items_up_to_a_limit():
    split_train, labelled = np.arange(0, 100, 2), np.array([0, 10, 20])
    spare = transfer_set(split_train, labelled, limit=1000, seed=0)
    assert set(spare) == set(split_train) - set(labelled)
    few = transfer_set(split_train, labelled, limit=7, seed=0)
    assert len(few) == 7 and set(few) <= set(spare)
    assert np.array_equal(few, transfer_set(split_train, labelled, limit=7, seed=0))


def test_hidden_labels_are_a_copy():
    labels = torch.arange(5)
    hidden = hide_labels(labels, np.array([1, 3]))
    assert hidden.tolist() == [0, UNLABELLED, 2, UNLABELLED, 4] and labels.tolist() == [0, 1, 2, 3, 4]


def test_bad_distillation_settings_are_refused_plainly():
    with pytest.raises(ConfigError, match="distill_alpha"):
        TrainConfig(data="x", model="mobilenet_v2", distill_alpha=1.5)
    with pytest.raises(ConfigError, match="distill_temperature"):
        TrainConfig(data="x", model="mobilenet_v2", distill_temperature=0.5)


def run_distill(data: str, model: str, **changes):
    config = TrainConfig(data=data, model=model, strategy="distill", epochs=2, batch_size=8, val_fraction=0.2,
                         test_fraction=0.25, **changes)
    prep = prepare(config)
    labels_before = prep.dataset.labels.copy()
    out = train_run(prep, emit=lambda *_: None, should_stop=lambda: False)
    assert np.array_equal(prep.dataset.labels, labels_before)  # hiding labels never touches the dataset
    return prep, out.summary


def test_an_image_distillation_run_learns_from_unused_items_and_names_its_teacher(tiny_image_folder):
    prep, summary = run_distill(str(tiny_image_folder), "mobilenet_v2", per_class=2, image_size=32)
    held_out = set(prep.split.val) | set(prep.split.test)
    assert len(prep.transfer_idx) > 0 and not set(prep.transfer_idx) & held_out
    assert not set(prep.transfer_idx) & set(prep.train_idx) and set(prep.transfer_idx) <= set(prep.split.train)
    assert summary["unlabelled_items"] == len(prep.split.train) - len(prep.train_idx)
    assert summary["n_train"] == 6 and 0 <= summary["teacher_test_accuracy"] <= 1
    probe = train_run(prepare(prep.config.with_(strategy="linear_probe")), emit=lambda *_: None,
                      should_stop=lambda: False)
    assert summary["teacher_test_accuracy"] == pytest.approx(probe.summary["test_accuracy"])  # the same probe
    assert "never saw" in summary["distill_note"] and 0 <= summary["test_accuracy"] <= 1


def test_a_text_distillation_run_without_a_limit_learns_from_the_labelled_items_only(tmp_path):
    rows = [f"{'good great fine' if i % 2 else 'bad awful poor'} review number {i}" for i in range(40)]
    data = tmp_path / "reviews.csv"
    data.write_text("text,label\n" + "\n".join(f"{t},{'pos' if i % 2 else 'neg'}" for i, t in enumerate(rows)))
    prep, summary = run_distill(str(data), "glove-50d-bag")
    assert len(prep.transfer_idx) == 0 and summary["unlabelled_items"] == 0
    assert summary["teacher_test_accuracy"] == 1.0 and "labelled items only" in summary["distill_note"]
    assert summary["trainable_params"] > 0 and summary["test_accuracy"] >= 0.5
