"""One training run from a TrainConfig: data → split → model → strategy plan → fit → test evaluation.

This is what a worker process executes. `prepare` is also called by the CLI and the app before
queueing, so bad data or settings are reported immediately instead of inside a worker.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from tlcore.config import FEATURE_STRATEGIES, TrainConfig
from tlcore.data import (DataReport, Dataset, Split, build_report, decode_images, load_source, make_split,
                         subset_per_class)
from tlcore.data.images import median_side
from tlcore.errors import ConfigError, DataError
from tlcore.models import ModelSpec, TransferModel, apply_lora, create, get_spec, text_encoder_for
from tlcore.train.defaults import Resolved, resolve
from tlcore.train.features import compute_features, cached_features, feature_cache_path
from tlcore.train.inputs import FeatureInputs, ImageInputs, Inputs, TextInputs, steps_per_epoch
from tlcore.train.loop import EpochProbe, EventSink, FitResult, LoopSettings, fit, predict_probs
from tlcore.train.probe import fit_logistic_probe
from tlcore.train.metrics import Evaluation, evaluate, prediction_rows
from tlcore.train.strategies import Plan, build_plan, count_trainable


@dataclass
class Prepared:
    """Everything decided before any weights are touched; identical for all strategies of a comparison."""

    config: TrainConfig
    dataset: Dataset
    split: Split
    train_idx: np.ndarray
    val_idx: np.ndarray
    spec: ModelSpec
    resolved: Resolved
    report: DataReport


@dataclass
class RunOutput:
    prepared: Prepared
    summary: dict[str, Any]
    history: list[dict]
    evaluation: Evaluation
    predictions: list[dict]
    model: TransferModel | None  # None for the nearest-neighbour baseline: nothing was trained


def prepare(config: TrainConfig, dataset: Dataset | None = None) -> Prepared:
    """Load and check data, split it, and resolve settings. Raises UserError subclasses on bad input."""
    spec = get_spec(config.model)
    ds = dataset or load_source(config.data, text_column=config.text_column, label_column=config.label_column)
    if spec.modality != ds.modality:
        kind = "an image" if spec.modality == "image" else "a text"
        raise ConfigError(f"{spec.id} is {kind} model but '{config.data}' holds {ds.modality} data; "
                          f"pick a {ds.modality} model (see `python -m tlcore models`).")
    split_seed = config.seed if config.split_seed is None else config.split_seed
    split = make_split(ds, seed=split_seed, val_fraction=config.val_fraction, test_fraction=config.test_fraction)
    train_idx = subset_per_class(ds.labels, split.train, config.per_class, config.seed)
    # Model selection needs a few examples per class, not hundreds: validating every epoch on a large
    # held-out part would dominate the cost of small-data runs (e.g. 340 articles vs 50 training texts).
    val_idx = subset_per_class(ds.labels, split.val, config.val_per_class, config.seed)
    missing = sorted(set(range(ds.num_classes)) - set(ds.labels[train_idx].tolist()))
    if missing:
        names = ", ".join(repr(ds.classes[c]) for c in missing)
        raise DataError(f"No training examples are left for {names} (they are all held out, or duplicates of "
                        "held-out items); add more distinct examples of it.")
    resolved = resolve(config, spec, median_side(ds) if ds.modality == "image" and not config.image_size else None)
    if config.strategy not in FEATURE_STRATEGIES:  # those are solved on cached features, not stepped through epochs
        resolved = cap_epochs(resolved, config.max_steps, len(train_idx))
    return Prepared(config, ds, split, train_idx, val_idx, spec, resolved, build_report(ds, split))


def cap_epochs(resolved: Resolved, max_steps: int | None, n_train: int) -> Resolved:
    """Whole epochs only (at least one), so every example is seen equally often."""
    if not max_steps:
        return resolved
    epochs = min(resolved.epochs, max(1, max_steps // steps_per_epoch(n_train, resolved.batch_size)))
    return dataclasses.replace(resolved, epochs=epochs, capped=epochs < resolved.epochs)


def train_run(prep: Prepared, *, emit: EventSink, should_stop: Callable[[], bool],
              epoch_probe: EpochProbe | None = None) -> RunOutput:
    cfg, r = prep.config, prep.resolved
    seed_everything(cfg.seed)
    device = torch.device(r.device)
    model = create(prep.spec, prep.dataset.num_classes, "scratch" if cfg.strategy == "scratch" else "pretrained")
    if cfg.strategy == "lora":
        model = apply_lora(model)
    model.to(device)
    if r.channels_last:
        model.to(memory_format=torch.channels_last)
    inputs = build_inputs(prep, device, emit)
    if cfg.strategy == "knn":
        return nearest_neighbours_run(prep, model, feature_inputs(prep, model, inputs, device, emit), emit)
    plan = build_plan(cfg.strategy, model, r)
    if plan.uses_cached_features:
        inputs = feature_inputs(prep, model, inputs, device, emit)
    settings = LoopSettings(epochs=r.epochs, batch_size=r.batch_size, weight_decay=cfg.weight_decay,
                            label_smoothing=cfg.label_smoothing, patience=cfg.patience, amp_bf16=r.amp_bf16)
    generator = torch.Generator().manual_seed(cfg.seed)
    train_idx, val_idx = torch.as_tensor(prep.train_idx), torch.as_tensor(prep.val_idx)
    if cfg.strategy == "linear_probe":  # convex: solved to convergence rather than stepped through epochs
        result = fit_logistic_probe(model.head, inputs, train_idx, val_idx, emit)
    else:
        result = fit(plan, inputs, train_idx, val_idx, settings, emit=emit, should_stop=should_stop,
                     generator=generator, epoch_probe=epoch_probe)
    evaluation, predictions = evaluate_test(prep, plan, inputs, r)
    summary = summarize(prep, plan, result, evaluation)
    emit("done", summary)
    return RunOutput(prep, summary, result.history, evaluation, predictions, model)


def nearest_neighbours_run(prep: Prepared, model: TransferModel, features: FeatureInputs,
                           emit: EventSink) -> RunOutput:
    """The zero-training baseline: k-nearest neighbours (cosine, distance-weighted) on frozen features.

    Nothing is optimised, so the run has no history and no weights; k is at most 5 and at most the
    smallest class's training examples, so one- and two-shot cells still vote among real neighbours.
    """
    from sklearn.neighbors import KNeighborsClassifier

    emit("start", {"total_steps": 0, "epochs": 0})
    started = time.monotonic()
    x = features.features.float().cpu().numpy()
    y = prep.dataset.labels
    counts = np.bincount(y[prep.train_idx], minlength=prep.dataset.num_classes)
    knn = KNeighborsClassifier(n_neighbors=int(max(1, min(5, counts[counts > 0].min()))), metric="cosine",
                               weights="distance").fit(x[prep.train_idx], y[prep.train_idx])
    test = np.asarray(prep.split.test)
    probs = np.zeros((len(test), prep.dataset.num_classes))
    probs[:, knn.classes_] = knn.predict_proba(x[test])
    evaluation = evaluate(probs, y[test], prep.dataset.classes)
    predictions = prediction_rows(probs, y[test], test, prep.dataset.item_names, prep.dataset.classes)
    result = FitResult(seconds=time.monotonic() - started)
    summary = dict(summarize(prep, None, result, evaluation), neighbours=int(knn.n_neighbors))
    emit("done", summary)
    return RunOutput(prep, summary, [], evaluation, predictions, None)


def build_inputs(prep: Prepared, device: torch.device, emit: EventSink) -> Inputs:
    ds, spec, r = prep.dataset, prep.spec, prep.resolved
    labels = torch.as_tensor(ds.labels)
    if ds.modality == "image":
        images = decode_images(ds, r.image_size, crop_pct=spec.crop_pct, interpolation=spec.interpolation,
                               progress=lambda done, total: emit("phase", _phase("Preparing images", done, total)))
        return ImageInputs(images, labels, spec.mean, spec.std, device, augment=prep.config.augment,
                           channels_last=r.channels_last)
    encoder = text_encoder_for(dataclasses.replace(spec, max_length=r.max_length))
    emit("phase", _phase("Tokenising texts", 0, len(ds)))
    encoded = encoder(list(ds.items))
    return TextInputs(encoded["input_ids"], encoded["attention_mask"], labels, device)


def feature_inputs(prep: Prepared, model: TransferModel, inputs: Inputs, device: torch.device,
                   emit: EventSink) -> FeatureInputs:
    r, ds = prep.resolved, prep.dataset
    preprocessing = (f"size={r.image_size}|len={r.max_length}|crop={prep.spec.crop_pct}|"
                     f"{prep.spec.interpolation}|bf16={r.amp_bf16}")
    path = feature_cache_path(ds.fingerprint, prep.spec.id, preprocessing)

    def progress(done: int, total: int) -> None:
        emit("phase", _phase("Computing pretrained features", done, total))

    def compute() -> torch.Tensor:
        progress(0, len(ds))  # the pass starts now (only on a cache miss)
        return compute_features(model.body, inputs, len(ds), r.batch_size * 2, amp_bf16=r.amp_bf16,
                                progress=progress)
    features = cached_features(path, len(ds), compute)
    return FeatureInputs(features, torch.as_tensor(ds.labels), device)


def evaluate_test(prep: Prepared, plan: Plan, inputs: Inputs, r: Resolved) -> tuple[Evaluation, list[dict]]:
    probs, labels, order = predict_probs(plan.module, inputs, torch.as_tensor(prep.split.test),
                                         r.batch_size * 2, r.amp_bf16)
    probs_np, labels_np, order_np = probs.numpy(), labels.numpy(), order.numpy()
    ds = prep.dataset
    evaluation = evaluate(probs_np, labels_np, ds.classes)
    return evaluation, prediction_rows(probs_np, labels_np, order_np, ds.item_names, ds.classes)


def summarize(prep: Prepared, plan: Plan | None, result: FitResult, evaluation: Evaluation) -> dict[str, Any]:
    return {
        "test_accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "ece": evaluation.ece,
        "n_train": int(len(prep.train_idx)),
        "n_val": int(len(prep.val_idx)),
        "n_test": int(len(prep.split.test)),
        "num_classes": prep.dataset.num_classes,
        "epochs_capped": prep.resolved.capped,
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "train_seconds": round(result.seconds, 3),
        "trainable_params": count_trainable(plan) if plan else 0,
        "split_id": prep.split.id,
        "data_fingerprint": prep.dataset.fingerprint,
    }


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _phase(message: str, done: int, total: int) -> dict[str, Any]:
    return {"message": message, "done": done, "total": total}
