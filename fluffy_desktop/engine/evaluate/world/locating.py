"""`locate` measured on the semantic world, whose true masks are known.

On the photos that hold an individual: the mean IoU of `Album.locate`'s mask for its name with
the true mask (a "not found" counts as IoU 0) and how often it is found. On photos that do not
hold it (every NEGATIVE_STEP-th one, look-alikes included): how often it is wrongly found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fluffy_desktop.engine.evaluate.metrics import iou
from fluffy_desktop.engine.evaluate.world.scene import render
from fluffy_desktop.engine.tasks import Progress

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup

NEGATIVE_STEP = 4


def locate_quality(setup: Setup, progress: Progress) -> dict:
    """{"iou", "found", "false_found"} in percent, over the held-out individuals."""
    world = setup.world
    overlaps, hits, false_hits = [], [], []
    for number, name in enumerate(world.names):
        progress("Locating the individuals", number, len(world.names))
        for position, owner in enumerate(world.owners):
            if owner != number and position % NEGATIVE_STEP:
                continue
            where = setup.album.locate(name, setup.gallery[position])[0]
            if owner == number:
                overlaps.append(iou(where.mask, render(world.gallery[position]).masks[0]))
                hits.append(where.found)
            else:
                false_hits.append(where.found)
    progress("Locating the individuals", len(world.names), len(world.names))
    return {
        "iou": round(100.0 * float(np.mean(overlaps)), 4),
        "found": round(100.0 * float(np.mean(hits)), 4),
        "false_found": round(100.0 * float(np.mean(false_hits)), 4),
    }
