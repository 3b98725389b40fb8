"""What a study trains: the grid of cells (strategy × examples per class × seed) and how it is queued.

Every cell shares one split (`split_seed` = the study's first seed), so all of them are tested on the same
held-out examples and paired tests between strategies compare like with like. Seeds change the subset,
the initialisation and the batch order. Subsets are nested: for one seed, the 2-per-class examples are
among the 5-per-class ones (see `subset_per_class`). A cell whose exact config already ran (or is queued)
in the same workspace on the same data is reused, so resuming or extending a study trains only what is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tlcore.core import strategies
from tlcore.core.config import TrainConfig
from tlcore.core.errors import ConfigError
from tlcore.experiments import submit
from tlcore.experiments.quotas import check_room
from tlcore.experiments.summary import per_class_label
from tlcore.runs.store import RunStore
from tlcore.runs.tracking import open_study
from tlcore.train import Prepared
from tlcore.train.defaults import pick_device

ALL: None = None  # "all training examples" in a per-class list
DEFAULT_PER_CLASS: tuple[int | None, ...] = (1, 2, 5, 10, 25, ALL)
MAX_CELLS = 400
# On a CPU a study caps every run at this many optimisation steps, so that large sizes of slow models (a
# transformer trained from scratch on all of bbc-news: ~90 steps per epoch at ~2 s each) finish in minutes
# rather than hours; runs that hit the cap are marked "capped" in the results and the report.
CPU_STUDY_MAX_STEPS = 150


def default_max_steps(device: str) -> int | None:
    """The step budget of a study's runs on this device (None: no cap on a GPU)."""
    return CPU_STUDY_MAX_STEPS if pick_device(device) == "cpu" else None


def parse_per_class(text: str) -> tuple[int | None, ...]:
    """'1,5,10,all' → (1, 5, 10, None); sorted, without repeats."""
    values: set[int | None] = set()
    for part in filter(None, (p.strip().lower() for p in str(text).split(","))):
        if part == "all":
            values.add(ALL)
        elif part.isdigit() and int(part) >= 1:
            values.add(int(part))
        else:
            raise ConfigError(f"Examples per class must be whole numbers from 1 up, or 'all' (got '{part}').")
    if not values:
        raise ConfigError("Give at least one number of examples per class, e.g. 1,5,10,all.")
    return _sorted(values)


def _sorted(values: Any) -> tuple[int | None, ...]:
    return tuple(sorted(values, key=lambda k: float("inf") if k is None else k))


def allowed_per_class(requested: tuple[int | None, ...], train_counts: np.ndarray
                      ) -> tuple[tuple[int | None, ...], list[str]]:
    """Keep the values the data allows: k below the largest class's training count (a larger k would
    train on exactly the same examples as 'all'). Returns the kept values and a note per dropped one."""
    largest = int(np.max(train_counts)) if len(train_counts) else 0
    kept = [k for k in requested if k is None or k < largest]
    notes = [f"{k} per class is not below the {largest} training examples of the largest class, so it "
             "equals 'all'" for k in requested if k is not None and k >= largest]
    if ALL not in kept and notes:
        kept.append(ALL)
    return _sorted(set(kept)), notes


@dataclass(frozen=True)
class StudySpec:
    base: TrainConfig
    strategies: tuple[str, ...]
    per_class: tuple[int | None, ...] = DEFAULT_PER_CLASS
    seeds: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_class", _sorted(set(self.per_class)))  # small to large, 'all' last
        if not self.per_class:
            raise ConfigError("Choose at least one number of training examples per class.")
        if not self.strategies:
            raise ConfigError("Choose at least one strategy for the study.")
        strategies.check_ids(self.strategies)
        if not 1 <= self.seeds <= 20:
            raise ConfigError(f"Seeds must be from 1 to 20 (got {self.seeds}).")
        cells = len(self.strategies) * len(self.per_class) * self.seeds
        if cells > MAX_CELLS:
            raise ConfigError(f"That study has {cells} runs; keep it to {MAX_CELLS} (fewer seeds, strategies "
                              "or sizes).")

    def cells(self) -> list[Cell]:
        """Small subsets first (they finish fast and fill the chart from the left), seeds, then strategies."""
        base = self.base.with_(split_seed=self.base.seed if self.base.split_seed is None else self.base.split_seed)
        return [Cell(s, k, base.seed + i, base.with_(strategy=s, per_class=k, seed=base.seed + i))
                for k in self.per_class for i in range(self.seeds) for s in self.strategies]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base.to_dict(), "strategies": list(self.strategies),
                "per_class": [per_class_label(k) for k in self.per_class], "seeds": self.seeds}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StudySpec:
        return cls(TrainConfig.from_dict(d["base"]), tuple(d["strategies"]),
                   parse_per_class(",".join(d["per_class"])), int(d["seeds"]))


@dataclass
class Cell:
    strategy: str
    per_class: int | None
    seed: int
    config: TrainConfig
    run_id: str | None = None
    reused: bool = False


@dataclass
class SubmittedStudy:
    study_id: str
    spec: StudySpec
    cells: list[Cell]
    prepared: Prepared
    notes: list[str] = field(default_factory=list)

    @property
    def new_runs(self) -> int:
        return sum(not c.reused for c in self.cells)


def submit_study(store: RunStore, spec: StudySpec, *, owner: str = "", name: str = "") -> SubmittedStudy:
    """Check the data and models once, drop sizes the data cannot support, reuse finished cells and queue
    the rest. Nothing is queued if the check fails."""
    base = submit.queueable(store, spec.base.with_(per_class=None), owner)
    base = base.with_(split_seed=base.seed if base.split_seed is None else base.split_seed)
    prep = submit.check(base, spec.strategies)
    counts = np.bincount(prep.dataset.labels[prep.split.train], minlength=prep.dataset.num_classes)
    per_class, notes = allowed_per_class(spec.per_class, counts)
    spec = StudySpec(base, tuple(spec.strategies), per_class, spec.seeds)
    cells = spec.cells()
    for cell in cells:
        found = store.find_reusable_run(cell.config.to_dict(), owner=owner, fingerprint=prep.dataset.fingerprint)
        if found:
            cell.run_id, cell.reused = found.id, True
    check_room(store, owner, new_runs=sum(not c.reused for c in cells))
    for cell in cells:
        if not cell.reused:
            cell.run_id = submit.submit(store, cell.config, owner=owner, name=_cell_name(spec, cell, name))
    title = name or f"{spec.base.model} on {prep.dataset.name}: data efficiency"
    study_id = store.create_study(spec.to_dict(), [c.run_id for c in cells], owner=owner, name=title)
    open_study(study_id, title, [c.run_id for c in cells])
    return SubmittedStudy(study_id, spec, cells, prep, notes)


def _cell_name(spec: StudySpec, cell: Cell, name: str) -> str:
    return (f"{name or spec.base.model + ' study'}: {strategies.label(cell.strategy)}, "
            f"{per_class_label(cell.per_class)} per class (seed {cell.seed})")
