"""Ranks of the correct answers, MRR / Recall@k from them (in percent), and identity precision."""

from __future__ import annotations

import numpy as np

KS = (1, 5, 10)


def ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based rank of each row's target column when the row is sorted by score, descending.

    Ties count against the method: a target tied with others ranks after all of them.
    """
    scores = np.asarray(scores, dtype=np.float64)
    target_scores = scores[np.arange(len(scores)), targets]
    counts: np.ndarray = (scores >= target_scores[:, None]).sum(axis=1)
    return counts


def retrieval_metrics(rank: np.ndarray) -> dict[str, float]:
    """{"mrr", "r1", "r5", "r10"} in percent, rounded to 4 decimals."""
    rank = np.asarray(rank, dtype=np.float64)
    result = {"mrr": 100.0 * float(np.mean(1.0 / rank))}
    result |= {f"r{k}": 100.0 * float(np.mean(rank <= k)) for k in KS}
    return {name: round(value, 4) for name, value in result.items()}


def iou(found: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1 when both are empty)."""
    union = np.logical_or(found, truth).sum()
    return float(np.logical_and(found, truth).sum() / union) if union else 1.0


def by_score(own: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """own (which photos show the individual) reordered by descending score, ties in order."""
    return np.asarray(own)[np.argsort(-np.asarray(scores), kind="stable")]


def identity_precision(own: np.ndarray, scores: np.ndarray) -> float:
    """The share of the k best-scored photos that show the individual (k: how many do)."""
    return float(by_score(own, scores)[: int(np.sum(own))].mean())
