"""Tagging on the semantic world: how well each concept's album matches the truth.

The album set (gallery.build_album_set) is indexed after the individuals were learned, as
photos a user adds later, so the library holds the gallery and the album set: 24 photos of
each individual among 660. Albums are measured over all of it once right after learning from
five shots, then after REVIEW_ROUNDS rounds of REVIEW_SIZE answers given from the truth through
`Album.review` and `Album.answer`, scoring only the photos that were not answered. Precision,
recall and F1 are in percent, from counts pooled over the individuals (micro-averaged).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fluffy_desktop.engine.evaluate.world.gallery import build_album_set, write_scenes
from fluffy_desktop.engine.evaluate.world.library_share import albums_by_library_share
from fluffy_desktop.engine.tasks import Progress

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup

REVIEW_ROUNDS = 2
REVIEW_SIZE = 10


Owners = dict[Path, int]  # each library photo (resolved): the individual it shows, or -1


def add_album_set(setup: Setup, seed: int, progress: Progress) -> Owners:
    """Draw and index the album set beside the gallery; the owner of every library photo."""
    album_set = build_album_set(setup.world, seed)
    folder = setup.gallery[0].parent.parent / "album"
    paths = write_scenes(album_set.scenes, folder)
    setup.album.index([folder], progress)
    owners = dict(zip(setup.gallery, setup.world.owners, strict=True))
    owners |= dict(zip(paths, album_set.owners, strict=True))
    return {path.resolve(): owner for path, owner in owners.items()}


def album_of(setup: Setup, number: int) -> set[Path]:
    """The individual's album as the app shows it now (resolved paths)."""
    _, members = setup.album.concept_photos(setup.world.names[number])
    return {m.path.resolve() for m in members}


def album_counts(found: set[Path], owners: Owners, number: int, answered: set[Path]) -> np.ndarray:
    """(found, true, hits) of an album of the individual over the unanswered library photos."""
    scored = {p for p in owners if p not in answered}
    truth = {p for p in scored if owners[p] == number}
    return np.array([len(found & scored), len(truth), len(found & scored & truth)])


def best_counts(setup: Setup, owners: Owners, number: int, answered: set[Path]) -> np.ndarray:
    """(found, true, hits) over the unanswered library photos at the cut-off with the best F1,
    chosen with the truth: what a perfect threshold would give with the concept's word."""
    ranked = [path.resolve() for path, _ in setup.album.concept_ranking(setup.world.names[number])]
    own = np.array([owners[p] == number for p in ranked if p in owners and p not in answered])
    true = sum(owner == number for p, owner in owners.items() if p not in answered)
    return best_cut(own, true)


def best_cut(own: np.ndarray, true: int) -> np.ndarray:
    """(found, true, hits) at the cut-off with the best F1 of a ranking: own[i] says whether
    the i-th photo shows the individual; true counts all that do."""
    if not own.any():
        return np.array([0, true, 0])
    hits = np.cumsum(own)
    best = int(np.argmax(2 * hits / (np.arange(1, len(own) + 1) + true)))
    return np.array([best + 1, true, hits[best]])


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


def review_from_truth(setup: Setup, owners: Owners, number: int) -> set[Path]:
    """Answer REVIEW_ROUNDS rounds of review for one individual; the photos answered."""
    answered: set[Path] = set()
    name = setup.world.names[number]
    for _ in range(REVIEW_ROUNDS):
        asked = [m.path.resolve() for m in setup.album.review(name, REVIEW_SIZE)]
        yes = [p for p in asked if owners.get(p) == number]
        no = [p for p in asked if owners.get(p) != number]
        if yes:
            setup.album.answer(name, yes, True)
        if no:
            setup.album.answer(name, no, False)
        answered |= set(asked)
    return answered


def tagging_quality(setup: Setup, seed: int, progress: Progress) -> dict:
    """Precision, recall and F1 (percent) pooled over the individuals: after learning, and on
    the unanswered photos after the review rounds, and the first albums on those same photos;
    the same at each concept's best cut-off (the ceiling of any threshold); the mean of the
    albums' own F1s; how many albums the answers made worse (a lower F1 on the unanswered
    photos than the album had on them before); the first albums when each individual is a
    larger share of the library; and the library's size."""
    owners = add_album_set(setup, seed, progress)
    by_share = albums_by_library_share(setup, owners, seed)  # before answers re-tune the words
    counts = np.zeros((5, 3), dtype=int)  # learned, its best; reviewed, its best; before
    own_f1: dict[str, list[float]] = {"learned": [], "reviewed": []}
    worse = 0
    for number in range(len(setup.world.individuals)):
        first = album_of(setup, number)
        learned = album_counts(first, owners, number, set())
        counts[0] += learned
        counts[1] += best_counts(setup, owners, number, set())
        answered = review_from_truth(setup, owners, number)
        reviewed = album_counts(album_of(setup, number), owners, number, answered)
        counts[2] += reviewed
        counts[3] += best_counts(setup, owners, number, answered)
        before = album_counts(first, owners, number, answered)
        counts[4] += before
        own_f1["learned"].append(scores(learned)["f1"])
        own_f1["reviewed"].append(scores(reviewed)["f1"])
        worse += own_f1["reviewed"][-1] < scores(before)["f1"]
    return {
        "learned": scores(counts[0]),
        "reviewed": scores(counts[2]),
        "before_answers": scores(counts[4]),
        "best_threshold": {"learned": scores(counts[1]), "reviewed": scores(counts[3])},
        "by_library_share": {share: scores(found) for share, found in by_share.items()},
        "album_f1_mean": {stage: round(float(np.mean(f1s)), 2) for stage, f1s in own_f1.items()},
        "answers": REVIEW_ROUNDS * REVIEW_SIZE,
        "albums_worse": int(worse),
        "albums": len(setup.world.individuals),
        "photos": len(owners),
    }
