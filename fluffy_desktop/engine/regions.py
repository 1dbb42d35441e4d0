"""Parts of a photo in search: a thing that fills a small part of the frame is still found.

Each photo is embedded whole and as REGIONS crops (its quarters: a 2 × 2 grid, each crop SHARE
of the photo's width and height, squeezed to the model's square input), at index time.
A query that names a concept in a context ("Fluffy on the beach") is answered from the RERANK
photos nearest to it as a whole, each scored by the better of the whole photo and its best
region, shifted onto the photos' scale (crops, being close-ups, score higher as a rule). A
name alone ranks whole photos: on the semantic world, the better of photo and region cost it
7–9 points of identity precision, while in context they find small things. A concept's album
scores each photo by the whole photo and its best region together (`album_scores`), which on
the semantic world ranks an individual above its look-alikes more often (README). There, crops
measured better than per-patch shares of the one photo pass, and quarters better than
overlapping crops of 0.55 or 0.6 of the sides (README).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image

GRID = 2
REGIONS = GRID * GRID
SHARE = 0.5
RERANK = 200  # photos re-scored by their regions, per concept query
TOP = 10  # the best scores whose means set the regions' shift onto the photos' scale
ALBUM_WEIGHT = 0.5  # an album score: (photo + ALBUM_WEIGHT × best region) / (1 + ALBUM_WEIGHT)
# Stored with each album threshold: one calibrated on another scale is calibrated again.
ALBUM_SCORE = f"photo + {ALBUM_WEIGHT} x best region"


def decode_side(side: int) -> int:
    """The shorter side to decode a photo at, so that each region still fills the model's
    side × side input."""
    return math.ceil(side / SHARE)


def region_crops(image: Image.Image, side: int) -> list[Image.Image]:
    """The REGIONS crops of image, each resized to side × side."""
    width, height = image.size
    crop_width, crop_height = round(SHARE * width), round(SHARE * height)
    crops = []
    for top in np.linspace(0, height - crop_height, GRID).round().astype(int):
        for left in np.linspace(0, width - crop_width, GRID).round().astype(int):
            box = (int(left), int(top), int(left) + crop_width, int(top) + crop_height)
            crops.append(image.resize((side, side), Image.Resampling.BICUBIC, box=box))
    return crops


def with_regions(
    ids: Sequence[int],
    scores: np.ndarray,
    regions: Mapping[int, np.ndarray],
    query: np.ndarray,
) -> np.ndarray:
    """Each photo's score: the better of its own and its best region's, the regions' scores
    first shifted onto the photos' scale (the mean of the TOP best of each apart). Photos
    indexed without regions keep their own."""
    best = np.asarray(scores, dtype=np.float32).copy()
    rows = [row for row, photo_id in enumerate(ids) if photo_id in regions]
    if not rows:
        return best
    parts = np.array([float((regions[ids[row]] @ query).max()) for row in rows])
    shift = np.sort(parts)[-TOP:].mean() - np.sort(best[rows])[-TOP:].mean()
    best[rows] = np.maximum(best[rows], parts - shift)
    return best


def album_scores(
    scores: np.ndarray, regions: Sequence[np.ndarray | None], vector: np.ndarray
) -> np.ndarray:
    """Album scores: each photo's own score joined by its best region's, weighted
    ALBUM_WEIGHT; a photo without regions (not yet reached by the regions pass) keeps its own."""
    own = np.asarray(scores, dtype=np.float32)
    best = np.array(
        [
            float((parts @ vector).max()) if parts is not None else float(score)
            for score, parts in zip(own, regions, strict=True)
        ],
        dtype=np.float32,
    )
    joined: np.ndarray = (own + ALBUM_WEIGHT * best) / (1 + ALBUM_WEIGHT)
    return joined
