"""Tagging on the semantic world: how well each concept's album matches the truth.

Measured once right after learning from five shots, then after REVIEW_ROUNDS rounds of
REVIEW_SIZE answers given from the truth through `Album.review` and `Album.answer`, scoring
only the gallery photos that were not answered. Precision, recall and F1 are in percent, from
counts pooled over the individuals (micro-averaged).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup

REVIEW_ROUNDS = 2
REVIEW_SIZE = 10


def _truth(setup: Setup, number: int) -> dict[Path, bool]:
    """Each gallery photo (resolved path): whether it shows this individual."""
    pairs = zip(setup.gallery, setup.world.owners, strict=True)
    return {path.resolve(): owner == number for path, owner in pairs}


def album_counts(setup: Setup, number: int, answered: set[Path]) -> np.ndarray:
    """(found, true, hits) of the individual's album over the unanswered gallery photos."""
    _, members = setup.album.concept_photos(setup.world.names[number])
    gallery = _truth(setup, number)
    scored = {p for p in gallery if p not in answered}
    found = {m.path.resolve() for m in members} & scored
    truth = {p for p in scored if gallery[p]}
    return np.array([len(found), len(truth), len(found & truth)])


def scores(counts: np.ndarray) -> dict:
    """Precision, recall and F1 in percent from pooled (found, true, hits) counts."""
    found, true, hits = (int(v) for v in counts)
    precision = hits / found if found else 0.0
    recall = hits / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "precision": round(100 * precision, 2),
        "recall": round(100 * recall, 2),
        "f1": round(100 * f1, 2),
    }


def review_from_truth(setup: Setup, number: int) -> set[Path]:
    """Answer REVIEW_ROUNDS rounds of review for one individual; the photos answered."""
    truth = _truth(setup, number)
    answered: set[Path] = set()
    name = setup.world.names[number]
    for _ in range(REVIEW_ROUNDS):
        asked = [m.path.resolve() for m in setup.album.review(name, REVIEW_SIZE)]
        yes = [p for p in asked if truth.get(p, False)]
        no = [p for p in asked if not truth.get(p, False)]
        if yes:
            setup.album.answer(name, yes, True)
        if no:
            setup.album.answer(name, no, False)
        answered |= set(asked)
    return answered


def tagging_quality(setup: Setup) -> dict:
    """Precision, recall and F1 (percent) pooled over the individuals: after learning, and on
    the unanswered photos after the review rounds (an individual whose photos were all asked
    about still counts, through the photos its album wrongly holds)."""
    before, after = np.zeros(3, dtype=int), np.zeros(3, dtype=int)
    for number in range(len(setup.world.individuals)):
        before += album_counts(setup, number, set())
        after += album_counts(setup, number, review_from_truth(setup, number))
    return {
        "learned": scores(before),
        "reviewed": scores(after),
        "answers": REVIEW_ROUNDS * REVIEW_SIZE,
    }
