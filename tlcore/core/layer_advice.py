"""From a per-depth score curve to "how many stages to freeze", and how unlike the pretraining data the items look.

The freeze rule (FINDINGS.md §5), applied to paired resampled scores of each depth (shallow → deep):
  * keep the whole body frozen unless the best depth beats the deepest one *clearly*: the mean paired
    difference over the resamples exceeds 2 SD of that difference;
  * if it does, freeze through the first depth that is *as good as* the best: a mean gap no larger than
    max(10 % of the curve's range, 2 SD of the gap).
Partial freezing is advised only when LogME and leave-one-out k-NN both say so (LogME alone flags flat, noisy
curves such as MiniLM on bbc-news); the freeze point is then the deeper of the two. It is the Yosinski et al.
(2014) heuristic on frozen features, not checked against partial fine-tunes: words must call it a suggestion.
"""

from __future__ import annotations

import numpy as np

from tlcore.core.transferability import PairedScores

WITHIN = 0.1  # "as good as the best": within this share of the curve's range (or of the noise)
NEAR_MSP, FAR_MSP = 0.4, 0.2  # ImageNet max-softmax bands: tux-photos ≈ 0.5, fashion-mnist ≈ 0.3, digits ≈ 0.1


def freeze_index(full: np.ndarray, samples: np.ndarray, fraction: float) -> int:
    """The depth to freeze through (index into the curve; the last = freeze everything), from one kind of
    score on all items `full` [depths] and on resamples of a share `fraction` of them `samples` [depths, R].
    The noise of a difference is 2 standard errors, the delete-d jackknife's (see `PairedScores`)."""
    best, last = int(np.argmax(full)), len(full) - 1
    span = max(float(full.max() - full.min()), 1e-12)
    scale = np.sqrt(fraction / (1 - fraction))

    def gap(i: int) -> tuple[float, float]:
        spread = float((samples[best] - samples[i]).std(ddof=1)) if samples.shape[1] > 1 else 0.0
        return float(full[best] - full[i]), 2 * scale * spread

    last_gap, last_noise = gap(last)
    if best == last or last_gap <= last_noise:
        return last
    return next(i for i in range(len(full)) if gap(i)[0] <= max(WITHIN * span, gap(i)[1]))


def combined_freeze_index(scores: PairedScores) -> int:
    """Partial freezing only when both opinions want it; then the deeper of their two freeze points."""
    last = len(scores.names) - 1
    by_logme = freeze_index(scores.logme_full, scores.logme, scores.fraction)
    by_knn = freeze_index(scores.knn_full, scores.knn, scores.fraction)
    return last if last in (by_logme, by_knn) else max(by_logme, by_knn)


def imagenet_confidence(logits: np.ndarray) -> tuple[float, float]:
    """(mean max-softmax probability, mean entropy / log(classes)) of the pretrained head over the items:
    both per item, so they do not depend on how many items there are."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    entropy = -(p * np.log(np.clip(p, 1e-30, None))).sum(axis=1) / np.log(p.shape[1])
    return float(p.max(axis=1).mean()), float(entropy.mean())


def domain_level(msp: float) -> str:
    """"near", "moderate" or "far" from the pretraining data (bands from 3 datasets: an anecdote, not a
    calibration)."""
    return "near" if msp >= NEAR_MSP else "moderate" if msp >= FAR_MSP else "far"
