"""How well frozen features suit a labelled dataset, without training: LogME and leave-one-out k-NN accuracy.

LogME (You et al., ICML 2021) treats each class's one-vs-rest 0/1 target as a Bayesian linear regression on
the features F [N, D], y ~ N(0, β⁻¹I + α⁻¹FFᵀ), and scores the maximised log-evidence per example, averaged
over classes. Higher is better; scores compare models on the same data, never across datasets.

Why our own implementation (see /work/scratch/transfer/FINDINGS.md §2):
  * the widely copied reference (`thuml/LogME`, `_fit_fixed_point`) writes D/2·log α but sums log(α + βσ) over
    only the k = rank(F) non-zero σ, so whenever k < D — always when N < D, e.g. 108 photos × 1280 features —
    it adds (D − k)/(2N)·log α to the score (+40 instead of −0.06 on tux-photos) and inverts the ranking;
  * its 11-step, 1 % stopping rule leaves errors as large as the gaps between models.
Here: one `eigh` of the smaller Gram matrix, every class iterated together in float64 until t = α/β stops
moving (1e-10 in log t), columns still crawling after `max_iter` steps finished by bisection on the same
stationarity condition, and the evidence evaluated in its profiled form (β = N/q(t)), which has no
cancellation between large terms:
    q(t) = Σ x_i² t/(t + s_i) + |y_⊥|²,   log p = N/2·log(N/q) − N/2 − ½Σ log(1 + s_i/t) − N/2·log 2π
with s the non-zero eigenvalues of FᵀF, x = Uᵀy and y_⊥ the part of y outside span(F). When the supremum
lies at a boundary (β → ∞ when y is in span(F), α → ∞ when F explains nothing), t is clipped to
[1e-12, 1e12]·max(s) and that finite limit is the score (`converged` False).

Features are used as they come (no z-scoring: it worsens agreement with probe accuracy, FINDINGS.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

LOG_2PI = float(np.log(2.0 * np.pi))
T_RANGE = (1e-12, 1e12)  # t = α/β is searched within this range times the largest eigenvalue


@dataclass(frozen=True)
class Spectrum:
    """What LogME needs from F: the non-zero eigenvalues s [k] of FᵀF, x = UᵀY [k, C] and |y_c|² [C]."""

    s: np.ndarray
    x: np.ndarray
    y2: np.ndarray
    n: int


@dataclass(frozen=True)
class LogMEResult:
    score: float  # mean over classes of the maximised log-evidence per example
    per_class: np.ndarray  # [C]
    alpha: np.ndarray  # [C] prior precision at the optimum
    beta: np.ndarray  # [C] noise precision at the optimum
    converged: np.ndarray  # [C] False: the supremum is a boundary's limit
    rank: int  # numerical rank of F


def spectrum(features: np.ndarray, targets: np.ndarray) -> Spectrum:
    """One eigendecomposition of the smaller Gram matrix of `features` [N, D]; projections of `targets` [N, C]."""
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if f.ndim != 2 or y.ndim != 2 or f.shape[0] != y.shape[0]:
        raise ValueError(f"features must be [N, D] and targets [N, C]; got {f.shape} and {y.shape}")
    if not np.isfinite(f).all():
        raise ValueError("features contain NaN or infinite values")
    n, d = f.shape
    s, vectors = np.linalg.eigh(f.T @ f if n >= d else f @ f.T)
    # eigenvalues of a Gram matrix are accurate to ~ eps·max(s)·size; anything below that is rounding noise
    floor = max(float(s[-1]), 0.0) * max(n, d) * np.finfo(np.float64).eps * 10
    keep = s > floor if floor > 0 else np.zeros_like(s, dtype=bool)
    s = s[keep]
    if n >= d:  # U_k s_k^½ = F V_k, so x = U_kᵀ y = V_kᵀ Fᵀ y / √s_k
        x = (vectors[:, keep].T @ (f.T @ y)) / np.sqrt(s)[:, None]
    else:
        x = vectors[:, keep].T @ y
    return Spectrum(s=s, x=x, y2=(y * y).sum(0), n=n)


def evidence_at(sp: Spectrum, alpha: np.ndarray | float, beta: np.ndarray | float) -> np.ndarray:
    """log p(y_c | α_c, β_c) / N for every column, at any α, β > 0."""
    alpha, beta = np.broadcast_to(alpha, sp.y2.shape), np.broadcast_to(beta, sp.y2.shape)
    t, s, x2 = alpha / beta, sp.s[:, None], sp.x ** 2
    q = (x2 * t / (t + s)).sum(0) + np.maximum(sp.y2 - x2.sum(0), 0.0)
    value = sp.n / 2 * np.log(beta) - beta / 2 * q - 0.5 * np.log1p(s / t).sum(0) - sp.n / 2 * LOG_2PI
    return value / sp.n


class _Problem:
    """The per-column quantities of the fixed point at t = α/β (the β factors cancel out of all of them)."""

    def __init__(self, sp: Spectrum) -> None:
        self.n, self.s, self.x2 = sp.n, sp.s[:, None], sp.x ** 2
        self.res0 = np.maximum(sp.y2 - self.x2.sum(0), 0.0)  # |y|² outside span(F)
        scale = float(sp.s.max()) if sp.s.size else 1.0
        self.t_lo, self.t_hi = T_RANGE[0] * scale, T_RANGE[1] * scale

    def stats(self, t: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """γ (effective parameters), |m|² and |y − Fm|² of the columns `cols` at their t."""
        s, x2 = self.s, self.x2[:, cols]
        gamma = (s / (s + t)).sum(0)
        m2 = (s * x2 / (t + s) ** 2).sum(0)
        r2 = (x2 * (t / (t + s)) ** 2).sum(0) + self.res0[cols]
        return gamma, m2, r2

    def slope(self, t: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """2·d log p / d log t; zero exactly at the fixed point α = γ/|m|², β = (N − γ)/|y − Fm|²."""
        gamma, m2, r2 = self.stats(t, cols)
        return gamma - self.n * t * m2 / (r2 + t * m2)

    def evidence(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(log-evidence / N, β) at t with β profiled out (β = N / q(t))."""
        q = np.maximum((self.x2 * t / (t + self.s)).sum(0) + self.res0, np.finfo(np.float64).tiny)
        beta = np.minimum(self.n / q, np.finfo(np.float64).max / 4)
        value = self.n / 2 * np.log(self.n / q) - self.n / 2 - 0.5 * np.log1p(self.s / t).sum(0)
        return (value - self.n / 2 * LOG_2PI) / self.n, beta


def _fixed_point(p: _Problem, t: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's updates on t for every column at once; returns (columns done, columns still moving)."""
    active = np.ones(t.shape, dtype=bool)
    converged = np.zeros(t.shape, dtype=bool)
    for _ in range(max_iter):
        cols = np.flatnonzero(active)
        gamma, m2, r2 = p.stats(t[cols], cols)
        ratio = (gamma / m2) * (r2 / (p.n - gamma))  # new α / new β
        fallback = np.where(m2 == 0, p.t_hi, p.t_lo)
        t_new = np.clip(np.where(np.isfinite(ratio), ratio, fallback), p.t_lo, p.t_hi)
        done = np.abs(np.log(t_new) - np.log(t[cols])) < tol
        t[cols] = t_new
        converged[cols[done]] = True
        active[cols[done | (t_new <= p.t_lo) | (t_new >= p.t_hi)]] = False
        if not active.any():
            break
    return converged, active


def _bisect(p: _Problem, t: np.ndarray, cols: np.ndarray, steps: int) -> np.ndarray:
    """Finish crawling columns by bisection in log t on the slope's sign; True where the optimum is interior
    (else t is left at the boundary the evidence keeps rising towards, whose limit is the supremum)."""
    up = p.slope(t[cols], cols) > 0
    lo = np.where(up, np.log(t[cols]), np.log(p.t_lo))
    hi = np.where(up, np.log(p.t_hi), np.log(t[cols]))
    end = np.where(up, hi, lo)
    interior = (p.slope(np.exp(end), cols) > 0) != up
    for _ in range(steps):
        mid = (lo + hi) / 2
        rising = p.slope(np.exp(mid), cols) > 0
        lo, hi = np.where(rising, mid, lo), np.where(rising, hi, mid)
    t[cols] = np.where(interior, np.exp((lo + hi) / 2), np.exp(end))
    return interior


def maximise(sp: Spectrum, *, tol: float = 1e-10, max_iter: int = 100,
             bisect_steps: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Evidence maximisation of every column: (log-evidence / N, α, β, converged)."""
    p = _Problem(sp)
    t = np.ones(sp.y2.shape)  # the paper starts from α = β = 1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        converged, active = _fixed_point(p, t, tol, max_iter)
        cols = np.flatnonzero(active)
        if cols.size:  # the fixed point crawls (1000+ steps on tux features): bisection on its own condition
            converged[cols] = _bisect(p, t, cols, bisect_steps)
        evidence, beta = p.evidence(t)
    return evidence, t * beta, beta, converged


def logme(features: np.ndarray, labels: np.ndarray, *, details: bool = False,
          **options: float) -> float | LogMEResult:
    """LogME of `features` [N, D] for integer `labels` [N]: higher means the features suit the labels better.

    One-vs-rest 0/1 targets for every class present; the score is the mean over classes of the maximised
    log-evidence per example. `options` go to `maximise` (tol, max_iter, bisect_steps).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError("labels must be a vector with one entry per feature row")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError("LogME needs at least two classes")
    targets = (labels[:, None] == classes[None, :]).astype(np.float64)
    sp = spectrum(features, targets)
    evidence, alpha, beta, converged = maximise(sp, **options)
    if not details:
        return float(evidence.mean())
    return LogMEResult(float(evidence.mean()), evidence, alpha, beta, converged, int(sp.s.size))


@dataclass(frozen=True)
class PairedScores:
    """Scores of several feature sets on the same random subsamples of the items (paired), for ties."""

    names: list[str]
    fraction: float  # share of the items in each resample
    logme: np.ndarray  # [models, resamples]
    knn: np.ndarray  # [models, resamples]
    logme_full: np.ndarray  # [models] on all items
    knn_full: np.ndarray  # [models] on all items

    def tied_with_best(self, which: str = "logme", sds: float = 2.0) -> np.ndarray:
        """[models] True for the best model by the full-data score, and for every model whose paired
        difference to it is within `sds` standard errors: "as good as the best" rather than a strict 1-2-3
        order the data cannot support. The standard error of the full-data difference is the delete-d
        jackknife's (Shao & Wu 1989): subsamples of a share f of the items vary √((1 − f)/f) times less
        than samples of all N items would (half as much at f = 0.8), so their SD is scaled up by √(f/(1 − f))."""
        full, samples = (self.logme_full, self.logme) if which == "logme" else (self.knn_full, self.knn)
        best = int(np.argmax(full))
        gap = full[best] - full
        spread = (samples[best] - samples).std(axis=1, ddof=1) if samples.shape[1] > 1 else np.zeros(len(full))
        noise = sds * spread * np.sqrt(self.fraction / (1 - self.fraction))
        return gap <= np.maximum(noise, 1e-12)

    def wins(self, which: str = "logme") -> np.ndarray:
        """[models] the share of resamples on which each model scored highest."""
        samples = self.logme if which == "logme" else self.knn
        return np.bincount(samples.argmax(axis=0), minlength=len(self.names)) / samples.shape[1]


def paired_scores(features: dict[str, np.ndarray], labels: np.ndarray, *, groups: np.ndarray | None = None,
                  resamples: int = 10, fraction: float = 0.8, seed: int = 0,
                  blas_threads: int | None = 1) -> PairedScores:
    """LogME and leave-one-out k-NN of every feature set [N, D_m] on all N items and on `resamples` stratified
    subsamples of `fraction` of them; every model sees the same subsamples, so differences are paired."""
    with threadpool_limits(blas_threads):  # BLAS threads on these small matrices cost 5x under load (None: default)
        return _paired_scores(features, np.asarray(labels), groups, resamples, fraction, seed)


def _paired_scores(features: dict[str, np.ndarray], labels: np.ndarray, groups: np.ndarray | None, resamples: int,
                   fraction: float, seed: int) -> PairedScores:
    rng = np.random.default_rng(seed)
    picks = [_stratified(labels, fraction, rng) for _ in range(resamples)]
    names = list(features)
    logme_rs = np.array([[logme(features[m][i], labels[i]) for i in picks] for m in names]).reshape(len(names), -1)
    knn_rs = np.array([[knn_loo_accuracy(features[m][i], labels[i], groups=None if groups is None else groups[i])
                        for i in picks] for m in names]).reshape(len(names), -1)
    return PairedScores(names, fraction, logme_rs, knn_rs, np.array([logme(features[m], labels) for m in names]),
                        np.array([knn_loo_accuracy(features[m], labels, groups=groups) for m in names]))


def _stratified(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """`fraction` of each class's items (at least two, so every class keeps a neighbour), sorted."""
    parts = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        take = min(len(members), max(2, round(fraction * len(members))))
        parts.append(rng.choice(members, take, replace=False))
    return np.sort(np.concatenate(parts))


def default_k(labels: np.ndarray) -> int:
    """min(5, smallest class − 1), at least 1: every item still has neighbours of its own class to find."""
    counts = np.unique(labels, return_counts=True)[1]
    return int(max(1, min(5, counts.min() - 1)))


def knn_loo_predictions(features: np.ndarray, labels: np.ndarray, k: int, *, groups: np.ndarray | None = None,
                        block: int = 2048) -> np.ndarray:
    """The label each item gets from a uniform vote of its k most cosine-similar *other* items.

    Identical to scikit-learn's KNeighborsClassifier(metric="cosine") refitted without the item (ties go to
    the lowest class). Items sharing a `groups` id never vote for each other: pass content hashes, so an
    exact duplicate does not find its twin. The [N, N] similarity is built in row blocks.
    """
    x = np.asarray(features, dtype=np.float32)
    n = len(x)
    if n < 2:
        raise ValueError("leave-one-out needs at least two items")
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = int(min(k, n - 1))
    group_ids = None if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    predicted = np.empty(n, dtype=np.int64)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        sim = x[rows] @ x.T
        sim[np.arange(len(rows)), rows] = -np.inf
        if group_ids is not None:
            sim[group_ids[rows][:, None] == group_ids[None, :]] = -np.inf
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weight = np.isfinite(np.take_along_axis(sim, nearest, axis=1)).astype(float)
        votes = np.zeros((len(rows), len(classes)))
        np.add.at(votes, (np.repeat(np.arange(len(rows)), k), y[nearest].ravel()), weight.ravel())
        predicted[rows] = votes.argmax(1)
    return classes[predicted]


def knn_loo_accuracy(features: np.ndarray, labels: np.ndarray, k: int | None = None, *,
                     groups: np.ndarray | None = None) -> float:
    """Leave-one-out accuracy of cosine k-NN: how often an item's nearest neighbours share its class."""
    labels = np.asarray(labels)
    k = default_k(labels) if k is None else k
    return float((knn_loo_predictions(features, labels, k, groups=groups) == labels).mean())
