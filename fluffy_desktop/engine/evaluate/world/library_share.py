"""The first albums when each individual is a larger share of the library, as a pet can be.

In the world each individual is about 4 % of the library, and the best share for the album's
cut-off depends on that (README, "Tagging"). Here the other photos are thinned at random until
the individual is SHARES of what remains, in the library at learning time (the gallery) as
well. The cut-off is calibrated again from what remains, as `Album.learn` would have done, and
the album is scored against the truth, pooled over the individuals like the other album
figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fluffy_desktop.engine.tagging import calibrate

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup
    from fluffy_desktop.engine.evaluate.world.tagging import Owners

SHARES = (10, 20, 35)  # percent of the library


def albums_by_library_share(setup: Setup, owners: Owners, seed: int) -> dict[str, np.ndarray]:
    """(found, true, hits) per share of the library, pooled over the individuals."""
    rng = np.random.default_rng(seed)
    gallery = {path.resolve() for path in setup.gallery}
    counts = {str(share): np.zeros(3, dtype=int) for share in SHARES}
    for number, name in enumerate(setup.world.names):
        scored = {path.resolve(): score for path, score in setup.album.concept_ranking(name)}
        _, members = setup.album.concept_photos(name)
        examples = np.array([m.score for m in members if m.state == "example"])
        own = [p for p in owners if owners[p] == number]
        others = [p for p in owners if owners[p] != number]
        for share in SHARES:
            wanted = min(len(others), round(len(own) * (100 - share) / share))
            kept = own + [others[i] for i in rng.choice(len(others), wanted, replace=False)]
            background = np.array([scored[p] for p in kept if p in gallery])
            threshold = calibrate(examples, np.zeros(0), background).threshold
            found = {p for p in kept if scored[p] >= threshold}
            counts[str(share)] += [len(found), len(own), len(found & set(own))]
    return counts
