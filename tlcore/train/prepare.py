"""Everything decided about a run before any weights are touched: data, split, training subset, settings.

`prepare` runs in the worker that trains, and also in the CLI and the app before anything is queued, so bad
data or settings are reported at once instead of inside a worker.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tlcore.core import strategies
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError, DataError
from tlcore.data import DataReport, Dataset, Split, build_report, load_source, make_split, subset_per_class
from tlcore.data.images import median_side
from tlcore.data.report import split_errors
from tlcore.models import ModelSpec, get_spec
from tlcore.train.defaults import Resolved, resolve


@dataclass
class Prepared:
    """Identical for all strategies of a comparison, except for the resolved settings."""

    config: TrainConfig
    dataset: Dataset
    split: Split
    train_idx: np.ndarray
    val_idx: np.ndarray
    spec: ModelSpec
    resolved: Resolved
    report: DataReport
    # Distillation only: training-split items a per-class limit left out, taught with a teacher's answers alone.
    transfer_idx: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def loop_idx(self) -> np.ndarray:
        """What the training loop steps through: the labelled items, then the transfer set."""
        return np.concatenate([self.train_idx, self.transfer_idx]).astype(np.int64)


def prepare(config: TrainConfig, dataset: Dataset | None = None, *, full_check: bool = False) -> Prepared:
    """Load and check data, split it, and resolve settings. Raises UserError subclasses on bad input.
    `full_check` decodes every image (the worker does; a web server only reads headers)."""
    spec = get_spec(config.model)
    ds = dataset or load_source(config.data, text_column=config.text_column, label_column=config.label_column,
                                name=config.data_name or None, full_check=full_check)
    if spec.modality != ds.modality:
        kind = "an image" if spec.modality == "image" else "a text"
        raise ConfigError(f"{spec.id} is {kind} model but '{ds.name}' holds {ds.modality} data; "
                          f"pick a {ds.modality} model (see `python -m tlcore models`).")
    split_seed = config.seed if config.split_seed is None else config.split_seed
    split = make_split(ds, seed=split_seed, val_fraction=config.val_fraction, test_fraction=config.test_fraction)
    problems = split_errors(ds, split)
    if problems:
        raise DataError(f"{ds.name} cannot be compared fairly: " + "; ".join(problems) + ".")
    train_idx = subset_per_class(ds.labels, split.train, config.per_class, config.seed)
    # Model selection needs a few examples per class, not hundreds: validating every epoch on a large
    # held-out part would dominate the cost of small-data runs (e.g. 340 articles vs 50 training texts).
    val_idx = subset_per_class(ds.labels, split.val, config.val_per_class, config.seed)
    missing = sorted(set(range(ds.num_classes)) - set(ds.labels[train_idx].tolist()))
    if missing:
        names = ", ".join(repr(ds.classes[c]) for c in missing)
        raise DataError(f"No training examples are left for {names} (they are all held out, or duplicates of "
                        "held-out items); add more distinct examples of it.")
    strategy = strategies.get(config.strategy)
    transfer = (transfer_set(split.train, train_idx, strategies.TRANSFER_LIMIT, config.seed) if strategy.teacher
                else np.empty(0, dtype=np.int64))
    resolved = resolve(config, spec, median_side(ds) if ds.modality == "image" and not config.image_size else None)
    if not strategy.frozen_features:  # those are solved on cached features, not epochs
        resolved = cap_epochs(resolved, config.max_steps, len(train_idx) + len(transfer))
    return Prepared(config, ds, split, train_idx, val_idx, spec, resolved, build_report(ds, split), transfer)


def resolved_as(prep: Prepared, strategy: str) -> Resolved:
    """The settings `strategy` runs with on `prep`'s data, whichever strategy `prep` was made for: on a CPU,
    frozen-feature strategies read images at the model's own size and training loops at a smaller one."""
    if strategy == prep.config.strategy:
        return prep.resolved
    native = median_side(prep.dataset) if prep.spec.modality == "image" and not prep.config.image_size else None
    return resolve(prep.config.with_(strategy=strategy), prep.spec, native)


def cap_epochs(resolved: Resolved, max_steps: int | None, n_train: int) -> Resolved:
    """Whole epochs only (at least one), so every example is seen equally often."""
    if not max_steps:
        return resolved
    epochs = min(resolved.epochs, max(1, max_steps // steps_per_epoch(n_train, resolved.batch_size)))
    return dataclasses.replace(resolved, epochs=epochs, capped=epochs < resolved.epochs)


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Training batches per epoch, matching `tlcore.train.inputs.shuffled_chunks` (a single leftover example is
    folded in; text pools are multiples of the batch size, so only the last pool can leave one)."""
    return max(1, math.ceil(n / batch_size) - (1 if n > batch_size and n % batch_size == 1 else 0))


def transfer_set(split_train: np.ndarray, labelled: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Up to `limit` training-split items that are not among the `labelled` ones, drawn at random per seed
    without looking at their labels (validation and test items are never in `split_train`)."""
    spare = np.setdiff1d(np.asarray(split_train, dtype=np.int64), np.asarray(labelled, dtype=np.int64))
    if len(spare) > limit:
        spare = np.sort(np.random.default_rng([seed, 13]).choice(spare, size=limit, replace=False))
    return spare
