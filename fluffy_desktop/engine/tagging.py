"""Tagging: each concept's album, cut at a threshold of its own, and what to ask about next.

A raw cosine means something different for every concept and model, so each concept gets its
own cut-off, set whenever it is learned or answered (`calibrate`): SHARE of the way from the
library's typical score (the median over a sample of the library) to its examples' typical
score (their median, "yes" answers included). Once the user has said "no" to some photos, the
cut-off is the one at or above that point that puts the fewest labelled photos on the wrong
side. A photo is in the album when it is an example or a "yes" answer, or scores at least the
threshold and is not a "no" answer. Scores are computed when asked, so photos indexed later
join with no re-learning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARE = 0.8  # chosen on the semantic world (README, "Tagging"): 0.75-0.9 measured
SCAN = 2000  # the concept's nearest photos scored first; more while they are all in the album
ABOVE_NEGATIVES = 1e-4


@dataclass(frozen=True)
class Member:
    """A photo of a concept's album (or a candidate for review)."""

    path: Path
    score: float
    state: str  # "example", "confirmed" or "auto"

    def to_json(self) -> dict:
        return {"path": str(self.path), "score": round(self.score, 6), "state": self.state}


def calibrate(examples: np.ndarray, negatives: np.ndarray, background: np.ndarray) -> float:
    """The album's cut-off from the scores of the examples and "yes" answers, the "no" answers
    and the library: SHARE of the way from the library's median to the examples' median; with
    "no" answers, the lowest cut at or above that point with the fewest labelled photos on the
    wrong side (an example below it, or a "no" at or above it)."""
    high = float(np.median(examples))
    low = float(np.median(background)) if len(background) else high - 1.0
    start = low + SHARE * (high - low)
    if not len(negatives):
        return start
    cuts = np.unique(np.concatenate([[start], negatives + ABOVE_NEGATIVES, examples]))
    cuts = cuts[cuts >= start]
    wrong = (examples[None, :] < cuts[:, None]).sum(axis=1)
    wrong += (negatives[None, :] >= cuts[:, None]).sum(axis=1)
    return float(cuts[int(np.argmin(wrong))])


def album_members(
    scored: Sequence[tuple[Path, float]],
    examples: dict[Path, float],
    confirmed: dict[Path, float],
    rejected: set[Path],
    threshold: float,
) -> list[Member]:
    """Examples, "yes" answers and photos at or above the threshold, never a "no"; by score."""
    members = {p: Member(p, s, "example") for p, s in examples.items()}
    members |= {p: Member(p, s, "confirmed") for p, s in confirmed.items() if p not in members}
    for path, score in scored:
        if score >= threshold and path not in members and path not in rejected:
            members[path] = Member(path, score, "auto")
    return sorted(members.values(), key=lambda m: -m.score)


def review_candidates(
    scored: Sequence[tuple[Path, float]], answered: set[Path], threshold: float, n: int
) -> list[Member]:
    """The n unanswered photos nearest the threshold: the answers that would help most."""
    open_ = [(p, s) for p, s in scored if p not in answered]
    open_.sort(key=lambda item: abs(item[1] - threshold))
    return [Member(p, s, "auto") for p, s in open_[:n]]
