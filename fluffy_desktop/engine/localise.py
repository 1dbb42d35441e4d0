"""Where a query is in a photo: sliding windows, coarse then fine, as a heat map.

Square windows are encoded like photos and compared with the query. Half-size windows
(overlapping by half) cover the whole photo; third-size windows then search the best of them
more closely. Each window's similarity spreads back onto the grid cells it covers. Windows fit
any CLIP (no access to patch tokens), and a window that frames the object scores as high as a
photo of the object itself. The cost is the windows' forward passes: about two dozen.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from fluffy_desktop.engine.clip import ClipModel

Box = tuple[int, int, int]  # left, top, side

# Photos are loaded with this longer side for localisation (windows are resized anyway).
LOCATE_SIDE = 448
# Cells along the photo's shorter side; the longer side gets as many as keep cells square.
GRID_CELLS = 12
# (side, step) of the two window scales, as fractions of the shorter side and of the side.
COARSE = (1 / 2, 1 / 2)
FINE = (1 / 3, 1 / 2)
# Coarse windows at most: a panorama gets sparser steps rather than more windows.
MAX_COARSE = 16
# How much the best windows outweigh the rest: weight = exp(SHARPNESS · z), z ≤ 0 being a
# window's distance below the best score in standard deviations of all scores.
SHARPNESS = 4.0
# Window scores closer than this (cosine) are noise: the photo is the same everywhere.
FLAT = 1e-4


def _starts(length: int, window: int, step: float) -> list[int]:
    """Evenly spaced window offsets covering [0, length), at most `step` windows apart."""
    if window >= length:
        return [0]
    count = math.ceil((length - window) / (window * step)) + 1
    return [round(i * (length - window) / (count - 1)) for i in range(count)]


def scale_windows(
    width: int, height: int, scale: tuple[float, float], limit: int | None = None
) -> list[Box]:
    """The square windows of one scale over a width × height photo (at most `limit`)."""
    fraction, step = scale
    side = max(1, round(min(width, height) * fraction))
    while True:
        rows, cols = _starts(height, side, step), _starts(width, side, step)
        if limit is None or len(rows) * len(cols) <= limit:
            return [(x, y, side) for y in rows for x in cols]
        step *= 1.1


def _inside(box: Box, outer: Box) -> bool:
    """Whether box's centre lies in outer."""
    x, y = box[0] + box[2] / 2, box[1] + box[2] / 2
    return outer[0] <= x <= outer[0] + outer[2] and outer[1] <= y <= outer[1] + outer[2]


def grid_shape(width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of the heat-map grid: GRID_CELLS along the shorter side, square cells."""
    short = min(width, height)
    return (
        max(1, round(GRID_CELLS * height / short)),
        max(1, round(GRID_CELLS * width / short)),
    )


def _spread(scores: np.ndarray, boxes: list[Box], size: tuple[int, int]) -> np.ndarray:
    """Average, per cell, the scores of the windows covering it (weighted by overlap)."""
    width, height = size
    rows, cols = grid_shape(width, height)
    total = np.zeros((rows, cols))
    weight = np.zeros((rows, cols))
    col_edges = np.linspace(0, width, cols + 1)
    row_edges = np.linspace(0, height, rows + 1)
    for score, (left, top, side) in zip(scores, boxes, strict=True):
        cover_x = np.clip(
            np.minimum(col_edges[1:], left + side) - np.maximum(col_edges[:-1], left), 0, None
        )
        cover_y = np.clip(
            np.minimum(row_edges[1:], top + side) - np.maximum(row_edges[:-1], top), 0, None
        )
        overlap = np.outer(cover_y, cover_x) / side**2
        total += overlap * score
        weight += overlap
    return total / np.maximum(weight, 1e-9)


def _smooth(heat: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 blur along both axes (edges repeated): no seams where the fine windows
    stop."""
    for axis in (0, 1):
        padded = np.concatenate(
            [np.take(heat, [0], axis), heat, np.take(heat, [-1], axis)], axis=axis
        )
        size = heat.shape[axis]
        heat = (
            np.take(padded, range(0, size), axis)
            + 2 * np.take(padded, range(1, size + 1), axis)
            + np.take(padded, range(2, size + 2), axis)
        ) / 4
    return heat


def _scores(clip: ClipModel, image: Image.Image, boxes: list[Box], query: np.ndarray) -> np.ndarray:
    """Cosine similarity of each window (resized to the model's input) to the query."""
    side = clip.image_size
    crops = [
        image.resize((side, side), Image.Resampling.BICUBIC, box=(x, y, x + s, y + s))
        for x, y, s in boxes
    ]
    vectors = clip.encode_image_batch(torch.stack([clip.image_tensor(c) for c in crops]))
    scores: np.ndarray = vectors @ query
    return scores


def windows_searched(
    clip: ClipModel, image: Image.Image, query: np.ndarray
) -> tuple[list[Box], np.ndarray]:
    """Every window looked at, coarse then fine around the best coarse one, with its score."""
    coarse = scale_windows(*image.size, COARSE, MAX_COARSE)
    coarse_scores = _scores(clip, image, coarse, query)
    best = coarse[int(np.argmax(coarse_scores))]
    fine = [box for box in scale_windows(*image.size, FINE) if _inside(box, best)]
    if not fine:
        return coarse, coarse_scores
    return coarse + fine, np.concatenate([coarse_scores, _scores(clip, image, fine, query)])


def heatmap(clip: ClipModel, image: Image.Image, text_vector: np.ndarray) -> np.ndarray:
    """How strongly each region of `image` matches `text_vector`: rows × cols in [0, 1]."""
    image = image.convert("RGB")
    query = np.asarray(text_vector, dtype=np.float32).reshape(-1)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    boxes, scores = windows_searched(clip, image, query)
    if float(np.ptp(scores)) < FLAT:
        return np.zeros(grid_shape(*image.size), dtype=np.float32)
    weights = np.exp(SHARPNESS * (scores - scores.max()) / float(scores.std()))
    heat = _smooth(_spread(weights, boxes, image.size))
    low, high = float(heat.min()), float(heat.max())
    return ((heat - low) / (high - low)).astype(np.float32)
