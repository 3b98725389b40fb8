"""Training configuration: one frozen dataclass, validated, JSON round-trippable.

Scratch and transfer runs of a comparison differ only in `strategy`; everything else (split, budget,
augmentation, seed) is identical by construction because they are built with `dataclasses.replace`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from tlcore.core import strategies
from tlcore.core.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
VAL_PER_CLASS = 20  # validation examples per class used to pick the best epoch


def _help(text: str, default: Any = None) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TrainConfig:
    """What to train. `None` means "the per-device default" (see `tlcore.train.defaults`)."""

    data: str = _help("Built-in dataset id, an upload's handle (upload:<id>), or a path to a .zip, folder, .csv, "
                      ".tsv or .jsonl file.", "")
    data_name: str = _help("What people call the data (an upload's file name); shown, never used to find it.", "")
    model: str = _help("Registry model id (see `python -m tlcore models`), or timm:<name> / hf:<id>.", "")
    strategy: str = _help("How to train: " + ", ".join(strategies.IDS), "linear_probe")
    seed: int = _help("Seed for the split, the subset, initialisation and batch order.", 0)
    split_seed: int | None = _help("Seed of the train/validation/test split only (None: use `seed`). A study "
                                   "fixes it so every seed is tested on the same held-out examples.")
    per_class: int | None = _help("Use at most this many training examples per class (None: all).")
    epochs: int | None = _help("Passes over the training examples.")
    max_steps: int | None = _help("Cap on optimisation steps: fewer epochs are run when the epochs would "
                                  "take more steps (None: no cap).")
    max_seconds: int | None = _help("Stop training after this many seconds and keep the best epoch so far (None: no "
                                    "limit). Runs started from the app get the server's `app_run_seconds`.")
    batch_size: int | None = _help("Examples per optimisation step.")
    lr: float | None = _help("Learning rate of the new last layer; pretrained layers get a fraction of it.")
    image_size: int | None = _help("Image side in pixels (images only).")
    max_length: int | None = _help("Tokens kept per text (text only).")
    device: str = _help("auto, cpu or cuda.", "auto")
    val_fraction: float = _help("Share of the data held out to pick the best epoch.", 0.15)
    test_fraction: float = _help("Share of the data held out for the final, untouched test.", 0.2)
    label_smoothing: float = _help("Soften the targets (0 = off); helps calibration on small data.", 0.0)
    weight_decay: float = _help("AdamW weight decay.", 0.01)
    val_per_class: int | None = _help("Validation examples per class used to pick the best epoch (None: all).",
                                      VAL_PER_CLASS)
    distill_temperature: float = _help("Distillation: how much the teacher's answers are softened (1 = as they are; "
                                       "higher shows more of how it ranks the wrong classes).", 4.0)
    distill_alpha: float = _help("Distillation: weight of the teacher's answers against the labels (0 = labels "
                                 "only, 1 = teacher only).", 0.7)
    patience: int = _help("Stop after this many epochs without validation improvement (0 = never).", 5)
    augment: bool = _help("Random crops and flips of training images.", True)
    text_column: str | None = _help("Text column of a CSV/TSV/JSONL (None: detect).")
    label_column: str | None = _help("Label column of a CSV/TSV/JSONL (None: detect).")
    freeze_through: str | None = _help("Fine-tune the last layers: keep the network frozen through this stage, as "
                                       "the Models page's layer advice names it (e.g. blocks.5, layer 4); None: the "
                                       "first two thirds of its weights. Other strategies ignore it.")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with a plain message for the first bad value."""
        if not self.data:
            raise ConfigError("No dataset given: pass a built-in id (e.g. tux-photos) or a file/folder path.")
        if not self.model:
            raise ConfigError("No model given: pass a model id (see `python -m tlcore models`).")
        strategies.get(self.strategy)
        if self.device not in DEVICES:
            raise ConfigError(f"Unknown device '{self.device}'. Choose auto, cpu or cuda.")
        _check_positive("epochs", self.epochs, upper=1000)
        _check_positive("batch_size", self.batch_size, upper=4096, lower=2)  # batch norm cannot train on one
        _check_positive("per_class", self.per_class, upper=10**7)
        _check_positive("max_steps", self.max_steps, upper=10**7)
        _check_positive("max_seconds", self.max_seconds, upper=10**7)
        _check_positive("val_per_class", self.val_per_class, upper=10**7)
        _check_positive("image_size", self.image_size, upper=1024, lower=16)
        _check_positive("max_length", self.max_length, upper=4096, lower=4)
        if self.lr is not None and not (0 < self.lr < 1):
            raise ConfigError(f"Learning rate must be between 0 and 1 (got {self.lr}).")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not (0 <= value < 0.9):
                raise ConfigError(f"{name} must be between 0 and 0.9 (got {value}).")
        if self.test_fraction <= 0:
            raise ConfigError("test_fraction must be above 0: the comparison needs an untouched test set.")
        if self.val_fraction + self.test_fraction >= 0.9:
            raise ConfigError("Validation and test fractions together must leave at least 10% to train on.")
        if not (0 <= self.label_smoothing < 0.5):
            raise ConfigError(f"label_smoothing must be between 0 and 0.5 (got {self.label_smoothing}).")
        if not (1 <= self.distill_temperature <= 20):
            raise ConfigError(f"distill_temperature must be between 1 and 20 (got {self.distill_temperature}).")
        if not (0 <= self.distill_alpha <= 1):
            raise ConfigError(f"distill_alpha must be between 0 and 1 (got {self.distill_alpha}).")
        _check_stage_name(self.freeze_through)
        if self.patience < 0 or self.seed < 0 or self.weight_decay < 0 or (self.split_seed or 0) < 0:
            raise ConfigError("patience, seed, split_seed and weight_decay cannot be negative.")

    def with_(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(json.loads(text))


def _check_stage_name(value: str | None) -> None:
    """Only the shape here: which stages a model has is checked against the model (`tlcore.train.depths`)."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ConfigError(f"freeze_through must name a stage of the model, such as blocks.5 or layer 4 (got "
                          f"{value!r}); leave it empty to freeze the first two thirds.")


def _check_positive(name: str, value: int | None, *, upper: int, lower: int = 1) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not (lower <= value <= upper):
        raise ConfigError(f"{name} must be a whole number from {lower} to {upper} (got {value!r}).")
