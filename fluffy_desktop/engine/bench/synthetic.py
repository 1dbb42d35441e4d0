"""Realistic stand-ins for a large library's embeddings, and exact search to grade an index.

Real CLIP embedding sets are clustered (themes, then bursts of near-duplicate shots) and
anisotropic: their variance sits in a few dozen principal directions (a power-law spectrum),
not spread evenly over all dimensions as uniform noise would be. The generator follows that:
seed vectors (real photo and text embeddings) → "event" centres → photos, each step adding
noise whose per-direction variance falls as 1/rank in a random orthogonal basis
(participation ratio ≈ 28 dimensions of 512).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

EVENT_SIZE = 8  # photos per event on average (a burst, a moment)
THEME_SPREAD = 0.6  # noise norm of an event centre around its seed vector
EVENT_SPREAD = 0.3  # noise norm of a photo around its event centre (cosine ≈ 0.92)
CHUNK = 50_000


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: np.ndarray = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


class ClusteredVectors:
    """Generates normalised vectors around seed vectors, in chunks (to bound memory)."""

    def __init__(self, seeds: np.ndarray, n: int, rng: np.random.Generator):
        dim = seeds.shape[1]
        self.rng = rng
        self.n = n
        basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        spectrum = 1.0 / np.arange(1, dim + 1)
        # noise @ mix has expected squared norm 1: scaled per step by the spreads above
        self.mix = (np.sqrt(spectrum / spectrum.sum())[:, None] * basis.T).astype(np.float32)
        events = max(1, n // EVENT_SIZE)
        picked = normalise(seeds)[rng.integers(len(seeds), size=events)]
        self.events = picked + self._noise(events, THEME_SPREAD)

    def _noise(self, n: int, spread: float) -> np.ndarray:
        z = self.rng.standard_normal((n, self.mix.shape[0]), dtype=np.float32)
        noise: np.ndarray = spread * (z @ self.mix)
        return noise

    def sample(self, n: int) -> np.ndarray:
        """n new normalised vectors (photos of random events)."""
        centres = self.events[self.rng.integers(len(self.events), size=n)]
        return normalise(centres + self._noise(n, EVENT_SPREAD))

    def chunks(self) -> Iterator[np.ndarray]:
        """The library's n vectors, CHUNK at a time."""
        for start in range(0, self.n, CHUNK):
            yield self.sample(min(CHUNK, self.n - start))


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k highest inner products of each query (brute force, in chunks)."""
    best = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best[start : start + 64] = top
    return best


def recall_at_k(found: list[list[int]], truth: list[set[int]]) -> float:
    """Mean share of each query's true top k that the index returned."""
    hits = [len(set(f) & t) / len(t) for f, t in zip(found, truth, strict=True) if t]
    return float(np.mean(hits)) if hits else 0.0
