"""Tagging: each concept's album, cut at a threshold of its own, and what to ask about next.

A raw cosine means something different for every concept and model, so each concept gets its
own cut-off, set whenever it is learned or answered (`calibrate`): SHARE of the way from the
library's typical score (the median over a sample of the library) to its examples' typical
score (their median, "yes" answers included). Once the user has said "no" to some photos, the
cut-off is the one at or above that point that puts the fewest labelled photos on the wrong
side. A photo is in the album when it is an example or a "yes" answer, or scores at least the
threshold and is not a "no" answer. Scores are computed when asked, so photos indexed later
join with no re-learning.

Answers move the album only clearly (`HeldAlbum`): after a re-tune, a photo that was in the
album stays while it scores at least STAY of the way (library median to examples' median)
below the new threshold, and a photo that was indexed but not in it joins only JOIN of the way
above. The answers are about the photos near the old cut; the photos left unasked near the new
one carry no evidence, and the hard "yes" answers pull the cut down towards look-alikes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

SHARE = 0.8  # chosen on the semantic world (README, "Tagging"): 0.75-0.9 measured
SCAN = 2000  # the concept's nearest photos scored first; more while they are all in the album
ABOVE_NEGATIVES = 1e-4
STAY = 0.1  # chosen on the semantic world (README, "Answers move the album only clearly")
JOIN = 0.2


@dataclass(frozen=True)
class Member:
    """A photo of a concept's album (or a candidate for review)."""

    path: Path
    score: float
    state: str  # "example", "confirmed" or "auto"

    def to_json(self) -> dict:
        return {"path": str(self.path), "score": round(self.score, 6), "state": self.state}


class Ranked(NamedTuple):
    """A library photo and its album score."""

    path: Path
    score: float
    photo_id: int


@dataclass(frozen=True)
class Cut:
    """A concept's album threshold and the way from the library's median score to the
    examples' median (the scale of STAY and JOIN)."""

    threshold: float
    span: float


@dataclass(frozen=True)
class HeldAlbum:
    """The album as it stood before the word was last re-tuned: its library photos (catalog
    ids) stay while they score at least `stay`; other photos indexed by then (ids up to
    `upto`) join only at `join`; photos indexed since meet the plain threshold."""

    ids: frozenset[int]
    upto: int
    stay: float
    join: float

    def cut(self, photo_id: int, threshold: float) -> float:
        """The score at which this photo is in the album."""
        if photo_id in self.ids:
            return self.stay
        return self.join if photo_id <= self.upto else threshold


def held_album(ids: frozenset[int], upto: int, cut: Cut) -> HeldAlbum:
    """The album `ids` held against the re-tuned word's cut (no band when the examples score
    below the library)."""
    span = max(cut.span, 0.0)
    stay, join = np.clip([cut.threshold - STAY * span, cut.threshold + JOIN * span], -1, 1)
    return HeldAlbum(ids, upto, float(stay), float(join))


def calibrate(examples: np.ndarray, negatives: np.ndarray, background: np.ndarray) -> Cut:
    """The album's cut-off from the scores of the examples and "yes" answers, the "no" answers
    and the library: SHARE of the way from the library's median to the examples' median; with
    "no" answers, the lowest cut at or above that point with the fewest labelled photos on the
    wrong side (an example below it, or a "no" at or above it)."""
    high = float(np.median(examples))
    low = float(np.median(background)) if len(background) else high - 1.0
    start = low + SHARE * (high - low)
    if not len(negatives):
        return Cut(start, high - low)
    cuts = np.unique(np.concatenate([[start], negatives + ABOVE_NEGATIVES, examples]))
    cuts = cuts[cuts >= start]
    wrong = (examples[None, :] < cuts[:, None]).sum(axis=1)
    wrong += (negatives[None, :] >= cuts[:, None]).sum(axis=1)
    return Cut(float(cuts[int(np.argmin(wrong))]), high - low)


def album_members(
    scored: Sequence[Ranked],
    examples: dict[Path, float],
    confirmed: dict[Path, float],
    rejected: set[Path],
    threshold: float,
    held: HeldAlbum | None = None,
) -> list[Member]:
    """Examples, "yes" answers and photos at or above their cut (the threshold, or the held
    album's), never a "no"; by score."""
    members = {p: Member(p, s, "example") for p, s in examples.items()}
    members |= {p: Member(p, s, "confirmed") for p, s in confirmed.items() if p not in members}
    for path, score, photo_id in scored:
        cut = threshold if held is None else held.cut(photo_id, threshold)
        if score >= cut and path not in members and path not in rejected:
            members[path] = Member(path, score, "auto")
    return sorted(members.values(), key=lambda m: -m.score)


def review_candidates(
    scored: Sequence[Ranked], answered: set[Path], threshold: float, n: int
) -> list[Member]:
    """The n unanswered photos nearest the threshold: the answers that would help most."""
    open_ = [(r.path, r.score) for r in scored if r.path not in answered]
    open_.sort(key=lambda item: abs(item[1] - threshold))
    return [Member(p, s, "auto") for p, s in open_[:n]]
