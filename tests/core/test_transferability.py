"""LogME against a brute-force evidence maximum with dense matrices, and leave-one-out k-NN against
scikit-learn refitted without each item."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.neighbors import KNeighborsClassifier

from tlcore.core.transferability import (
    evidence_at,
    knn_loo_accuracy,
    knn_loo_predictions,
    logme,
    paired_scores,
    spectrum,
)


def dense_log_evidence(f: np.ndarray, y: np.ndarray, log_alpha: float, log_beta: float) -> float:
    """log N(y | 0, β⁻¹I + α⁻¹FFᵀ) straight from the definition (slogdet and solve)."""
    n = f.shape[0]
    cov = np.exp(-log_beta) * np.eye(n) + np.exp(-log_alpha) * (f @ f.T)
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return float(-0.5 * (logdet + y @ np.linalg.solve(cov, y) + n * np.log(2 * np.pi)))


def dense_maximum(f: np.ndarray, y: np.ndarray) -> float:
    """Maximum over (log α, log β): a coarse grid, then Nelder–Mead from its 3 best points."""
    grid = np.linspace(-12, 12, 17)
    starts = sorted(((dense_log_evidence(f, y, a, b), a, b) for a in grid for b in grid), reverse=True)[:3]
    best = -np.inf
    for _, a, b in starts:
        r = minimize(lambda p: -dense_log_evidence(f, y, p[0], p[1]), x0=[a, b], method="Nelder-Mead",
                     options=dict(xatol=1e-9, fatol=1e-12, maxiter=4000))
        best = max(best, -r.fun)
    return best


def problem(n: int, d: int, c: int, rank: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features with some class signal, at an arbitrary scale, optionally of reduced rank (FᵀF then has
    D − rank zero eigenvalues)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % c
    rng.shuffle(labels)
    f = 0.7 * rng.normal(size=(c, d))[labels] + rng.normal(size=(n, d))
    if rank is not None:
        basis = np.linalg.qr(rng.normal(size=(d, rank)))[0]
        f = f @ basis @ basis.T
    return f * rng.uniform(0.1, 10), labels


CASES = [  # (N, D, C, rank)
    (80, 8, 3, None),  # N > D
    (40, 40, 2, None),  # square
    (60, 30, 3, 12),  # N > D, rank-deficient
    (40, 100, 3, 15),  # N < D, rank 15 < N: interior optimum
    (30, 64, 2, None),  # N < D at full row rank: y lies in span(F), the supremum may be at β → ∞
]


@pytest.mark.parametrize("n,d,c,rank", CASES)
def test_logme_is_the_maximum_of_the_dense_evidence(n, d, c, rank):
    f, labels = problem(n, d, c, rank, seed=n + d)
    res = logme(f, labels, details=True)
    assert res.rank == (rank or min(n, d))
    for k in range(c):
        y = (labels == k).astype(float)
        at_ours = dense_log_evidence(f, y, np.log(res.alpha[k]), np.log(res.beta[k])) / n
        assert res.per_class[k] == pytest.approx(at_ours, abs=1e-7)  # the dense side: cond(C) up to ~1e10
        assert res.per_class[k] == pytest.approx(dense_maximum(f, y) / n, abs=1e-6)
        if res.converged[k]:  # an interior optimum is a stationary point of the dense evidence
            la, lb, h = np.log(res.alpha[k]), np.log(res.beta[k]), 1e-4
            ga = dense_log_evidence(f, y, la + h, lb) - dense_log_evidence(f, y, la - h, lb)
            gb = dense_log_evidence(f, y, la, lb + h) - dense_log_evidence(f, y, la, lb - h)
            assert abs(ga) / (2 * h) < 1e-5 * n and abs(gb) / (2 * h) < 1e-5 * n


def reference_fixed_point(f: np.ndarray, labels: np.ndarray) -> float:
    """thuml/LogME's `_fit_fixed_point` as published: 11 steps at 1e-3, and D/2·log α with log(α + βσ)
    summed over the k non-zero σ only."""
    n, d = f.shape
    u, s, _ = np.linalg.svd(f.astype(np.float64), full_matrices=False)
    u, sigma = u[:, s > 1e-10], (s[s > 1e-10] ** 2)[:, None]
    out = []
    for c in np.unique(labels):
        y = (labels == c).astype(np.float64)[:, None]
        x2 = (u.T @ y) ** 2
        res_x2 = (y ** 2).sum() - x2.sum()
        alpha, beta = 1.0, 1.0
        for _ in range(11):
            t = alpha / beta
            gamma = (sigma / (sigma + t)).sum()
            m2 = (sigma * x2 / (t + sigma) ** 2).sum()
            res2 = (x2 / (1 + sigma / t) ** 2).sum() + res_x2
            alpha, beta = gamma / (m2 + 1e-5), (n - gamma) / (res2 + 1e-5)
            if abs(alpha / beta - t) / t <= 1e-3:
                break
        out.append((d / 2 * np.log(alpha) + n / 2 * np.log(beta) - 0.5 * np.log(alpha + beta * sigma).sum()
                    - beta / 2 * res2 - alpha / 2 * m2 - n / 2 * np.log(2 * np.pi)) / n)
    return float(np.mean(out))


def test_the_widely_copied_reference_is_wrong_only_when_rank_is_below_d():
    f, labels = problem(200, 10, 3, None, seed=7)  # full rank, N > D: it agrees to its own 1e-3 tolerance
    assert reference_fixed_point(f, labels) == pytest.approx(logme(f, labels), abs=2e-3)
    f, labels = problem(40, 100, 3, 15, seed=8)  # rank 15 < D = 100: it is off by (D - k)/(2N)·log α
    assert abs(reference_fixed_point(f, labels) - logme(f, labels)) > 0.05


def test_evidence_at_any_alpha_beta_equals_the_dense_value():
    f, labels = problem(25, 40, 2, 10, seed=1)
    y = (labels == 1).astype(float)
    sp = spectrum(f, y[:, None])
    for la, lb in [(-3, 2), (0, 0), (4, -1), (-8, 6)]:
        assert evidence_at(sp, np.exp(la), np.exp(lb))[0] == pytest.approx(
            dense_log_evidence(f, y, la, lb) / 25, rel=1e-6)


def test_bisection_finish_equals_a_long_fixed_point():
    for n, d, c, rank in CASES:
        f, labels = problem(n, d, c, rank, seed=11)
        long = logme(f, labels, details=True, max_iter=100_000, tol=1e-13)
        short = logme(f, labels, details=True, max_iter=3)
        np.testing.assert_allclose(short.per_class, long.per_class, atol=1e-9)


def test_logme_scale_invariant_label_free_and_prefers_separating_features():
    f, labels = problem(70, 20, 3, None, seed=3)
    score = logme(f, labels)
    assert logme(1000.0 * f, labels) == pytest.approx(score, abs=1e-9)
    assert logme(f.astype(np.float32), labels) == pytest.approx(score, abs=1e-5)
    assert logme(f, labels + 7) == pytest.approx(score)
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 4  # N < D, as 108 photos × 1280 features
    good = np.eye(4)[labels] @ rng.normal(size=(4, 512)) + rng.normal(size=(40, 512))
    assert logme(good, labels) > logme(rng.normal(size=(40, 512)), labels) + 0.05


def test_logme_degenerate_inputs():
    labels = np.array([0, 1] * 10)
    assert np.isfinite(logme(np.zeros((20, 5)), labels))  # no signal: α → ∞, a finite limit
    with pytest.raises(ValueError, match="NaN"):
        logme(np.full((20, 5), np.nan), labels)
    with pytest.raises(ValueError, match="two classes"):
        logme(np.ones((20, 5)), np.zeros(20, dtype=int))


@pytest.mark.parametrize("k", [1, 3, 4])
def test_knn_loo_equals_scikit_learn_refitted_without_each_item(k):
    rng = np.random.default_rng(k)
    y = rng.integers(0, 4, 60)
    x = rng.normal(size=(60, 16)) + 0.8 * np.eye(4)[y] @ rng.normal(size=(4, 16))
    expected = [KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
                .fit(np.delete(x, i, 0), np.delete(y, i)).predict(x[i:i + 1])[0] for i in range(60)]
    np.testing.assert_array_equal(knn_loo_predictions(x, y, k, block=16), expected)


def test_knn_loo_groups_keep_duplicates_from_voting_for_their_twins():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 8)), rng.integers(0, 2, 40)
    twice, labels = np.vstack([x, x]), np.concatenate([y, y])
    assert knn_loo_accuracy(twice, labels, k=1) == 1.0
    assert knn_loo_accuracy(twice, labels, k=1, groups=np.concatenate([np.arange(40)] * 2)) < 0.8
    good = np.eye(5)[np.repeat(np.arange(5), 20)] * 5 + rng.normal(size=(100, 5))
    assert knn_loo_accuracy(good, np.array(list("abcde"))[np.repeat(np.arange(5), 20)]) > 0.95


def test_paired_scores_show_ties_and_a_clear_loser():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 25)
    strong = np.eye(4)[labels] @ rng.normal(size=(4, 32)) + 0.8 * rng.normal(size=(100, 32))
    features = {"strong": strong, "twin": strong + 0.05 * rng.normal(size=(100, 32)),  # as good: barely changed
                "noise": rng.normal(size=(100, 32))}
    scores = paired_scores(features, labels, resamples=8)
    assert scores.logme.shape == (3, 8) and scores.names == ["strong", "twin", "noise"]
    assert list(scores.tied_with_best("logme")) == [True, True, False]
    assert list(scores.tied_with_best("knn")[:2]) == [True, True]
    assert scores.wins("logme")[2] == 0 and scores.wins("logme").sum() == pytest.approx(1)
