""""Which model suits my data?": every available model of the dataset's kind, ranked without training.

Per model, one frozen-feature pass over the dataset through the linear probe's own cache
(`tlcore.train.feature_cache.feature_cache_file`): the ranking fills the cache a later probe, k-NN or ranking
reads, and a second ranking costs only the scores. The scores (`tlcore.core.transferability`) read only the
training part of the split, never the validation or test items: LogME as the ranking, leave-one-out k-NN as a
second opinion. Models whose LogME differs from the best one's by less than the noise of resampling the
training items are shown as tied with it (FINDINGS.md §4: a strict 1-2-3 order overstates the evidence).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tlcore.core.config import TrainConfig
from tlcore.core.errors import ModelError
from tlcore.core.transferability import PairedScores, paired_scores
from tlcore.data import Dataset, load_source, subset_per_class
from tlcore.models import ModelSpec, availability, get_spec, list_specs
from tlcore.train.prepare import Prepared, prepare

RESAMPLES = 10  # paired 80 % subsamples of the training items behind "tied" and "how sure"
MAX_SCORED_ROWS = 1000  # training items scored at most (a stratified subset): LogME costs O(N·D·min(N, D))
SURE_WINS = 0.9  # "sure" when the best model also scored highest on this share of the subsamples

Progress = Callable[[str, int, int], None]  # (what is happening, done, total)


@dataclass(frozen=True)
class ModelScore:
    model_id: str
    title: str
    logme: float  # LogME on the training items (higher is better; compare only within one dataset)
    knn_loo: float  # leave-one-out 5-NN accuracy on the training items
    verdict: str  # "best", "as good as the best" or "behind"
    wins: float  # share of resamples on which its LogME was the highest
    seconds: float  # its features (computed or read from the cache) and its share of the scoring
    from_cache: bool


@dataclass(frozen=True)
class Ranking:
    data: str
    modality: str
    n_train: int
    models: list[ModelScore]  # best first
    headline: str  # "Best start for your data: …"
    certainty: str  # how sure, in words
    second_opinion: str  # whether leave-one-out k-NN agrees
    seconds: float
    skipped: dict[str, str] = field(default_factory=dict)  # model id → why it was not ranked

    @property
    def best(self) -> str:
        return self.models[0].model_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Ranking:
        return cls(**{**values, "models": [ModelScore(**m) for m in values["models"]]})


def candidates(modality: str, model_ids: list[str] | None = None) -> tuple[list[ModelSpec], dict[str, str]]:
    """The models to rank (the registry's of this kind, or the named ones) and why others were left out."""
    specs = [get_spec(m) for m in model_ids] if model_ids else list_specs(modality)
    wrong = [s.id for s in specs if s.modality != modality]
    if wrong:
        raise ModelError(f"{', '.join(wrong)} cannot read {modality} data; rank {modality} models only "
                         "(see `python -m tlcore models`).")
    skipped = {s.id: availability(s).reason for s in specs if not availability(s).available}
    usable = [s for s in specs if s.id not in skipped]
    if not usable:
        raise ModelError(f"No pretrained {modality} model is available here to rank: "
                         + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return usable, skipped


def skipped_lines(skipped: dict[str, str]) -> list[str]:
    """Why models were left out, one line per reason ("resnet18, resnet50: not downloaded yet …")."""
    by_reason: dict[str, list[str]] = {}
    for model_id, why in skipped.items():
        by_reason.setdefault(why, []).append(model_id)
    return [f"{', '.join(ids)}: {why}" for why, ids in by_reason.items()]


def rank_models(source: str, options: dict[str, Any] | None = None, *, model_ids: list[str] | None = None,
                dataset: Dataset | None = None, progress: Progress | None = None,
                cached_only: bool = False) -> Ranking | None:
    """Rank the models for the data `source` (split and subset by `options`: TrainConfig fields such as seed,
    per_class, test_fraction, text_column). `cached_only`: return None instead of computing any features."""
    started = time.monotonic()
    options = options or {}
    ds = dataset or load_source(source, text_column=options.get("text_column"),
                                label_column=options.get("label_column"), full_check=True)
    specs, skipped = candidates(ds.modality, model_ids)
    features, timing = {}, {}
    for spec in specs:
        t0 = time.monotonic()
        prep = prepare(TrainConfig(data=source, model=spec.id, strategy="linear_probe", **options), dataset=ds)
        found = frozen_features(prep, progress, cached_only)
        if found is None:
            return None
        features[spec.id], from_cache = found
        timing[spec.id] = (time.monotonic() - t0, from_cache)
    rows = scored_rows(prep)
    t0 = time.monotonic()
    scores = paired_scores({m: f[rows] for m, f in features.items()}, ds.labels[rows],
                           groups=np.asarray(ds.item_hashes)[rows], resamples=RESAMPLES)
    share = (time.monotonic() - t0) / len(specs)
    timing = {m: (round(s + share, 3), cached) for m, (s, cached) in timing.items()}
    return describe(source, ds.modality, len(prep.train_idx), scores, timing, skipped,
                    time.monotonic() - started)


def frozen_features(prep: Prepared, progress: Progress | None,
                    cached_only: bool = False) -> tuple[np.ndarray, bool] | None:
    """(features of every item, whether they came from the cache) through the probe's own cache file;
    None when `cached_only` and they are not cached yet."""
    import torch  # here, not at the top: the Models page shows a finished ranking without torch

    from tlcore.models import create
    from tlcore.train.features import cached_features
    from tlcore.train.run_inputs import build_inputs, feature_cache_file, feature_inputs

    path = feature_cache_file(prep)
    warm = path.exists()
    if cached_only and not warm:
        return None

    emit = phase_reporter(progress, prep.spec.title)

    def compute() -> torch.Tensor:
        device = torch.device(prep.resolved.device)
        model = create(prep.spec, prep.dataset.num_classes, "pretrained").to(device)
        if prep.resolved.channels_last:
            model.to(memory_format=torch.channels_last)
        inputs = build_inputs(prep, device, emit)
        return feature_inputs(prep, model, inputs, device, emit).features  # computes and fills the cache

    if progress:
        progress(f"{prep.spec.title}: {'reading cached' if warm else 'computing'} features", 0, 1)
    tensor = cached_features(path, len(prep.dataset), compute) if warm else compute()
    return tensor.float().cpu().numpy(), warm


def phase_reporter(progress: Progress | None, title: str) -> Callable[[str, dict[str, Any]], None]:
    """An engine event sink that passes its "phase" events on to `progress`, prefixed with the model's title."""
    def emit(kind: str, payload: dict[str, Any]) -> None:
        if kind == "phase" and progress:
            progress(f"{title}: {payload['message'].lower()}", payload["done"], payload["total"])
    return emit


def scored_rows(prep: Prepared) -> np.ndarray:
    """The training items the scores read: all of them, or a stratified subset of MAX_SCORED_ROWS."""
    rows = np.asarray(prep.train_idx)
    if len(rows) <= MAX_SCORED_ROWS:
        return rows
    per_class = max(2, MAX_SCORED_ROWS // prep.dataset.num_classes)
    return np.sort(subset_per_class(prep.dataset.labels, rows, per_class, 0))


def describe(source: str, modality: str, n_train: int, scores: PairedScores,
             timing: dict[str, tuple[float, bool]], skipped: dict[str, str], seconds: float) -> Ranking:
    """The scores in words: the best model(s), how sure, and whether the second opinion agrees."""
    tied, wins = scores.tied_with_best("logme"), scores.wins("logme")
    order = np.argsort(-scores.logme_full, kind="stable")
    best = int(order[0])
    rows = [ModelScore(scores.names[i], get_spec(scores.names[i]).title, float(scores.logme_full[i]),
                       float(scores.knn_full[i]), "best" if i == best else
                       "as good as the best" if tied[i] else "behind", float(wins[i]), *timing[scores.names[i]])
            for i in order]
    top = [r.title for r in rows if r.verdict != "behind"]
    headline = (f"Best start for your data: {top[0]}" if len(top) == 1
                else f"Best starts for your data (a tie): {', '.join(top)}")
    return Ranking(source, modality, n_train, rows, headline, _certainty(rows, scores), _second_opinion(rows),
                   round(seconds, 3), skipped)


def _certainty(rows: list[ModelScore], scores: PairedScores) -> str:
    n = scores.logme.shape[1]
    if len(rows) == 1:
        return "Only one model of this kind is available here, so there is nothing to compare it with."
    tied = [r.title for r in rows if r.verdict != "behind"]
    if len(tied) > 1:
        return (f"Not sure which of {', '.join(tied)} is best: their scores differ by less than they change "
                f"between random subsets of your training data. Either is a good start; training both tells.")
    won = round(rows[0].wins * n)
    sure = "Sure" if rows[0].wins >= SURE_WINS else "Fairly sure"
    return f"{sure}: it scored highest on {won} of {n} random subsets of your training data."


def _second_opinion(rows: list[ModelScore]) -> str:
    by_knn = max(rows, key=lambda r: r.knn_loo)
    if by_knn.verdict != "behind" or by_knn.knn_loo <= rows[0].knn_loo:
        return (f"A second check agrees: for {rows[0].knn_loo:.0%} of your training examples the most similar "
                f"other examples in {rows[0].title}'s features share their class.")
    return (f"A second check prefers {by_knn.title}: its nearest neighbours share the class {by_knn.knn_loo:.0%} "
            f"of the time, against {rows[0].knn_loo:.0%}; treat the order as a hint, not a verdict.")
