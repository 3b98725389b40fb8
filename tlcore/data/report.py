"""Checks on a dataset before training: class sizes, balance, duplicates, leakage, skipped files.

Errors block training; warnings are shown next to the results because they change how far to trust them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from tlcore.core.errors import DataError
from tlcore.data.dataset import MIN_PER_CLASS, Dataset, SkippedItem, class_errors

if TYPE_CHECKING:
    from tlcore.data.split import Split

NOISY_PER_CLASS = 5      # below this per-class results are noise
NOISY_LISTED = 5         # more noisy classes than this are summed up in one warning
IMBALANCE_WARNING = 3.0  # largest / smallest class
SMALL_TEST = 25          # fewer test items than this: one item moves test accuracy by more than 4 points


@dataclass
class DataReport:
    counts: dict[str, int]
    skipped: list[SkippedItem] = field(default_factory=list)
    duplicate_groups: list[list[str]] = field(default_factory=list)
    cross_class_duplicates: list[list[str]] = field(default_factory=list)
    leakage: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    imbalance_ratio: float = 1.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        d = asdict(self)
        d["skipped"] = [{"name": s.name, "reason": s.reason} for s in self.skipped]
        d["ok"] = self.ok
        return d


def _duplicates(ds: Dataset) -> list[list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(ds.item_hashes):
        groups[h].append(i)
    return [g for g in groups.values() if len(g) > 1]


def _split_of(ds: Dataset, split: Split | None) -> list[str | None] | None:
    if split is not None:
        where: list[str | None] = [None] * len(ds)
        for name in ("train", "val", "test"):
            for i in getattr(split, name).tolist():
                where[i] = name
        return where
    return list(ds.given_split) if ds.given_split is not None else None


def _leakage(ds: Dataset, groups: list[list[int]], where: list[str | None] | None) -> list[str]:
    if where is None:
        return []
    leaked: list[str] = []
    for g in groups:
        if len({where[i] for i in g if where[i] is not None}) > 1:
            leaked.extend(ds.item_names[i] for i in g if where[i] is not None)
    return leaked


def build_report(ds: Dataset, split: Split | None = None) -> DataReport:
    """Check `ds` (and `split`, else the dataset's own train/val/test folders) and explain in plain words."""
    counts = ds.class_counts()
    groups = _duplicates(ds)
    cross = [g for g in groups if len({int(ds.labels[i]) for i in g}) > 1]
    leakage = _leakage(ds, groups, _split_of(ds, split))
    sizes = [n for n in counts.values() if n > 0]
    ratio = float(max(sizes) / min(sizes)) if sizes else 1.0
    report = DataReport(
        counts=counts,
        skipped=list(ds.skipped),
        duplicate_groups=[[ds.item_names[i] for i in g] for g in groups],
        cross_class_duplicates=[[ds.item_names[i] for i in g] for g in cross],
        leakage=leakage,
        errors=class_errors(counts) + split_errors(ds, split),
        imbalance_ratio=round(ratio, 3),
    )
    report.warnings = list(ds.notes) + _warnings(report, counts) + _small_test(split)
    return report


def _small_test(split: Split | None) -> list[str]:
    """A test part so small that each item is worth several points of accuracy, which no chart would tell."""
    n = 0 if split is None else len(split.test)
    if not 0 < n < SMALL_TEST:
        return []
    return [f"the test part has only {n} example{'s' if n != 1 else ''}, so each one moves test accuracy by "
            f"{100 / n:.1f} points and smaller differences are noise; use a larger test fraction or more data"]


def refuse_unusable(ds: Dataset, split: Split) -> DataReport:
    """The report of `ds` under `split`; DataError with its errors when the dataset cannot be compared at all (a
    class with fewer than two examples, or a split that leaves a class nothing to learn from or nothing to test
    on, as when every item is a copy of another). Used before a dataset becomes active, so nothing is queued."""
    report = build_report(ds, split)
    if report.errors:
        raise DataError(f"{ds.name} cannot be used for a comparison: " + "; ".join(report.errors) + ".")
    return report


def split_errors(ds: Dataset, split: Split | None) -> list[str]:
    """What makes a split unusable for a comparison: a class with nothing left to learn from, or nothing to test
    on. Copies of one item always share a part of the split, so a dataset made of identical items ends here."""
    if split is None:
        return []
    errors = []
    trained = set(ds.labels[split.train].tolist())
    missing = [ds.classes[c] for c in range(ds.num_classes) if c not in trained]
    if missing:
        more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
        names = ", ".join(repr(m) for m in missing[:5]) + more
        errors.append(f"no training examples are left for {names}: all of them are held out for testing or are "
                      "copies of held-out items; add more distinct examples")
    if len(split.test) == 0:
        errors.append("nothing is left to test on: every item is a copy of a training item; add distinct examples")
    return errors


def _noisy(counts: dict[str, int]) -> list[str]:
    noisy = [(name, n) for name, n in counts.items() if MIN_PER_CLASS <= n < NOISY_PER_CLASS]
    if len(noisy) <= NOISY_LISTED:
        return [f"class '{name}' has only {n} examples; results will be noisy below {NOISY_PER_CLASS}"
                for name, n in noisy]
    examples = ", ".join(f"'{name}' {n}" for name, n in noisy[:3])
    return [f"{len(noisy):,} classes have fewer than {NOISY_PER_CLASS} examples (e.g. {examples}); "
            "results for them will be noisy"]


def _skipped(skipped: list[SkippedItem]) -> str:
    """One sentence: how many were skipped, with one example of each of the first three reasons."""
    first: dict[str, SkippedItem] = {}
    for s in skipped:
        first.setdefault(s.reason, s)
    examples = "; ".join(f"{s.name}: {s.reason}" for s in list(first.values())[:3])
    more = f"; and {len(first) - 3} other reason(s)" if len(first) > 3 else ""
    return f"{len(skipped)} file(s) or row(s) were skipped, e.g. {examples}{more}"


def _warnings(r: DataReport, counts: dict[str, int]) -> list[str]:
    w = _noisy(counts)
    if r.imbalance_ratio >= IMBALANCE_WARNING:
        w.append(f"the largest class is {r.imbalance_ratio:.1f}× the smallest; look at balanced accuracy "
                 "and per-class results, not only accuracy")
    if r.duplicate_groups:
        n_items = sum(len(g) for g in r.duplicate_groups)
        w.append(f"{len(r.duplicate_groups)} group(s) of identical items ({n_items} items in all); "
                 "duplicates make test results look better than they are")
    if r.cross_class_duplicates:
        w.append(f"{len(r.cross_class_duplicates)} group(s) of identical items carry different labels, "
                 "e.g. " + ", ".join(r.cross_class_duplicates[0][:3]) + "; fix or remove them")
    if r.leakage:
        w.append(f"{len(r.leakage)} item(s) have an exact copy in another split (e.g. {r.leakage[0]}); "
                 "test results will be too optimistic")
    if r.skipped:
        w.append(_skipped(r.skipped))
    return w
