"""Where a target (a concept, or a text) is in a photo: a heat map, a mask and a box.

Each patch's embedding (engine/patches.py, the photo fed at SCALE times the model's input
size) is scored against the target and against rival prompts: background stuff
(resources/words/backgrounds.txt) and the rest of the query's words. A pixel's margin is the
target's score minus the best rival's, upsampled, then snapped to the photo's own edges by a
guided filter one patch wide; the mask is the part above Otsu's threshold, less the pixels
where another concept of the query scores higher (each pixel goes to one concept). The target
is found when the photo, or a crop around its mask, reaches the caller's cut (a concept's
album threshold); a target that is not found gets no mask.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.patches import patch_embeddings
from fluffy_desktop.engine.resources import word_list

# Photos are loaded with this longer side for localisation.
LOCATE_SIDE = 448
# The photo's shorter side as a multiple of the model's own input size: on the semantic world
# one pass at 1.25 outlines as well as 1.5, and better than 1.0 or than 1.0 and 1.5 summed, at
# less cost (README).
SCALE = 1.25
HISTOGRAM_BINS = 64
# The guided filter's regulariser (for a guide in [0, 1]): lower keeps finer edges.
EPSILON = 1e-3
# The crop around a mask adds this share of its size on every side.
MARGIN = 0.2
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


@dataclass(frozen=True)
class Location:
    """One target in one photo. The heat map (in [0, 1]) and the mask stay at the size they
    were computed at (stretch them over the photo to show them); box and mask_png refer to
    the photo's own size."""

    target: str
    heat: np.ndarray  # float32
    mask: np.ndarray  # bool; all False when the target is not found
    found: bool
    size: tuple[int, int]  # (width, height) of the photo

    @property
    def box(self) -> Box | None:
        rows, cols = np.nonzero(self.mask)
        if not len(rows):
            return None
        across = self.size[0] / self.mask.shape[1]
        down = self.size[1] / self.mask.shape[0]
        return (
            math.floor(cols.min() * across),
            math.floor(rows.min() * down),
            math.ceil((cols.max() + 1) * across),
            math.ceil((rows.max() + 1) * down),
        )

    @property
    def area(self) -> float:
        """The mask's share of the photo."""
        return float(self.mask.mean())

    def to_json(self) -> dict:
        box = self.box
        return {"found": self.found, "box": list(box) if box else None, "area": round(self.area, 6)}

    def mask_png(self) -> bytes:
        """The mask at the photo's size, as a one-channel PNG (255 = the target)."""
        mask = Image.fromarray(self.mask.astype(np.uint8) * 255, mode="L")
        out = io.BytesIO()
        mask.resize(self.size, Image.Resampling.NEAREST).save(out, format="PNG")
        return out.getvalue()


def combined(locations: list[Location]) -> Location:
    """Several targets in one photo as one: found if any is, their masks and heat joined."""
    return Location(
        " + ".join(where.target for where in locations),
        np.maximum.reduce([where.heat for where in locations]),
        np.logical_or.reduce([where.mask for where in locations]),
        any(where.found for where in locations),
        locations[0].size,
    )


def background_words() -> list[str]:
    return word_list("words/backgrounds.txt")


def background_prompts() -> list[str]:
    return [f"a photo of {word}" for word in background_words()]


def otsu_threshold(values: np.ndarray) -> float:
    """The cut that best splits values into two classes (Otsu's method): the upper class is
    the values above it."""
    counts, edges = np.histogram(values, HISTOGRAM_BINS)
    centres = (edges[1:] + edges[:-1]) / 2
    below = np.cumsum(counts)  # with the cut at each bin's upper edge
    above = below[-1] - below
    mass = np.cumsum(counts * centres)
    mean_below = mass / np.maximum(below, 1)
    mean_above = (mass[-1] - mass) / np.maximum(above, 1)
    return float(edges[1 + np.argmax(below * above * (mean_below - mean_above) ** 2)])


def _upsampled(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(grid.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BICUBIC))


def _box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """The mean over each (2·radius + 1)² square (edges repeated), by summed-area tables."""
    padded = np.pad(values, ((radius + 1, radius), (radius + 1, radius)), mode="edge")
    sums: np.ndarray = padded.cumsum(0).cumsum(1)
    span = 2 * radius + 1
    total = sums[span:, span:] - sums[:-span, span:] - sums[span:, :-span] + sums[:-span, :-span]
    mean: np.ndarray = total / span**2
    return mean


def guided_filter(guide: np.ndarray, values: np.ndarray, radius: int) -> np.ndarray:
    """values smoothed, but with the edges of guide (He et al.'s guided filter, grey guide)."""
    mean_guide, mean_values = _box_mean(guide, radius), _box_mean(values, radius)
    variance = _box_mean(guide * guide, radius) - mean_guide**2
    slope = (_box_mean(guide * values, radius) - mean_guide * mean_values) / (variance + EPSILON)
    offset = mean_values - slope * mean_guide
    smoothed: np.ndarray = _box_mean(slope, radius) * guide + _box_mean(offset, radius)
    return smoothed


def refined(margin: np.ndarray, image: Image.Image, radius: int) -> np.ndarray:
    """The margins snapped to the photo's own edges (the filter is linear in them: their scale
    does not matter)."""
    guide = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return guided_filter(guide, margin, radius)


def margins(
    clip: ClipModel,
    image: Image.Image,
    target: np.ndarray,
    rivals: np.ndarray,
    others: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of image (height × width): the target's patch score minus the best rival's,
    and minus the best of the other targets' (+inf without any)."""
    patches = patch_embeddings(clip, image, round(SCALE * clip.image_size))
    score = patches @ target
    margin = _upsampled(score - (patches @ rivals.T).max(axis=-1), image.size)
    if not len(others):
        return margin, np.full_like(margin, np.inf)
    return margin, _upsampled(score - (patches @ others.T).max(axis=-1), image.size)


def _crop(image: Image.Image, mask: np.ndarray) -> Image.Image | None:
    """A square crop around the mask, with MARGIN on every side (some context helps CLIP)."""
    rows, cols = np.nonzero(mask)
    if not len(rows):
        return None
    centre_x, centre_y = (cols.min() + cols.max()) / 2, (rows.min() + rows.max()) / 2
    half = (1 + MARGIN) * max(cols.max() - cols.min(), rows.max() - rows.min(), 1) / 2
    return image.crop((centre_x - half, centre_y - half, centre_x + half, centre_y + half))


def _found(
    clip: ClipModel,
    crop: Image.Image | None,
    target: np.ndarray,
    rivals: np.ndarray,
    evidence: tuple[float, float | None],
) -> bool:
    """Whether the photo (its score and cut in evidence) or the crop reaches the cut; with no
    cut (a plain text), whether the crop matches the target better than every rival."""
    score, cut = evidence
    if cut is not None and score >= cut:
        return True
    if crop is None:
        return False
    seen = clip.encode_images([crop])[0]
    return bool(seen @ target >= (float((rivals @ seen).max()) if cut is None else cut))


def locate(
    clip: ClipModel,
    image: Image.Image,
    target: tuple[str, np.ndarray],
    rivals: tuple[np.ndarray, np.ndarray],
    evidence: tuple[float, float | None],
) -> Location:
    """The target's (name, vector) heat map and mask in image. rivals: (background and context
    vectors, the other targets' vectors): the mask is cut from the margin over the first, then
    gives each pixel to the target that scores best there. evidence: the photo's score for the
    target and the score it must reach (None: beat the rivals); the target is found when the
    photo or the crop around its mask reaches it, else the mask is empty."""
    image = image.convert("RGB")
    patch = min(image.size) / (SCALE * clip.image_size / clip.patch_side)
    margin, lead = margins(clip, image, target[1], *rivals)
    margin = refined(margin, image, max(1, round(patch)))
    low, high = float(margin.min()), float(margin.max())
    heat = ((margin - low) / max(high - low, 1e-12)).astype(np.float32)
    mask = margin > otsu_threshold(margin) if high > low else np.zeros_like(heat, bool)
    mask &= lead > 0
    found = _found(clip, _crop(image, mask), target[1], rivals[0], evidence)
    return Location(target[0], heat, mask & found, found, image.size)
