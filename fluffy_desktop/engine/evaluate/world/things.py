"""The things of the semantic test world: kinds, colours, patterns, individuals, and drawing.

Everything is drawn with PIL from a seed, so a scene, its caption and its masks are the same on
every machine. An *individual* is a kind, a body colour, a pattern, a pattern colour and an
unnamed quirk (stripe width and angle, spot layout, check size) that no caption mentions. A fixed
tenth of the attribute combinations is held out: the world model never sees them in training,
as CLIP never saw a user's own cat.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# Bump when drawing or captions change: the shipped world model is tied to this version.
WORLD_VERSION = "fluffy-world/1"
CANVAS = 128  # scenes are drawn at this size (the model sees them at its own input size)

KINDS = ("cat", "dog", "bird", "mug", "car", "ball", "hat", "shoe")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (210, 40, 40),
    "orange": (240, 140, 30),
    "yellow": (240, 220, 50),
    "green": (50, 160, 60),
    "blue": (40, 80, 210),
    "purple": (130, 60, 170),
    "pink": (240, 130, 180),
    "brown": (120, 75, 40),
    "black": (35, 35, 35),
    "white": (240, 240, 240),
    "grey": (140, 140, 140),
}
PATTERNS = ("plain", "striped", "spotted", "checked")
PATTERN_NOUNS = {"striped": "stripes", "spotted": "spots", "checked": "checks"}
HELD_OUT_SHARE = 10  # one combination in this many is held out of training
DETAIL = (25, 25, 25)  # eyes, wheels, soles: the same dark grey on every thing


@dataclass(frozen=True)
class Individual:
    """One particular thing; `quirk` seeds what no caption names."""

    kind: str
    colour: str
    pattern: str
    pattern_colour: str | None
    quirk: int

    @property
    def combination(self) -> tuple[str, str, str, str | None]:
        return (self.kind, self.colour, self.pattern, self.pattern_colour)

    def describe(self) -> str:
        """The fullest caption phrase, e.g. "red cat with blue stripes"."""
        if self.pattern == "plain":
            return f"{self.colour} {self.kind}"
        return f"{self.colour} {self.kind} with {self.pattern_colour} {PATTERN_NOUNS[self.pattern]}"


def is_held_out(combination: tuple[str, str, str, str | None]) -> bool:
    """Whether a (kind, colour, pattern, pattern colour) combination is kept out of training."""
    digest = hashlib.blake2b(f"{WORLD_VERSION}|{combination}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % HELD_OUT_SHARE == 0


def random_individual(
    rng: random.Random, kind: str | None = None, held_out: bool | None = False
) -> Individual:
    """A random individual; held_out: True (only held-out), False (only training), None (any)."""
    while True:
        colour = rng.choice(list(COLOURS))
        pattern = rng.choice(PATTERNS)
        other = [c for c in COLOURS if c != colour]
        pattern_colour = None if pattern == "plain" else rng.choice(other)
        found = Individual(
            kind or rng.choice(KINDS), colour, pattern, pattern_colour, rng.getrandbits(31)
        )
        if held_out is None or is_held_out(found.combination) == held_out:
            return found


# --- drawing ----------------------------------------------------------------------------------
Unit = list[tuple[float, float]]


def _scaled(points: Unit, side: int) -> list[tuple[float, float]]:
    return [(x * side, y * side) for x, y in points]


def _ellipse(draw: ImageDraw.ImageDraw, box: tuple[float, ...], side: int, fill: int = 255) -> None:
    draw.ellipse([v * side for v in box], fill=fill)


def _circle(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, side: int) -> None:
    _ellipse(draw, (cx - r, cy - r, cx + r, cy + r), side)


def _rect(draw: ImageDraw.ImageDraw, box: tuple[float, ...], side: int) -> None:
    draw.rectangle([v * side for v in box], fill=255)


def _line(draw: ImageDraw.ImageDraw, points: Unit, width: float, side: int) -> None:
    draw.line(_scaled(points, side), fill=255, width=max(1, round(width * side)))


def _cat(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    _ellipse(body, (0.15, 0.45, 0.8, 0.82), s)
    _circle(body, 0.76, 0.4, 0.17, s)
    body.polygon(_scaled([(0.6, 0.34), (0.63, 0.1), (0.74, 0.26)], s), fill=255)
    body.polygon(_scaled([(0.8, 0.25), (0.9, 0.08), (0.93, 0.36)], s), fill=255)
    _line(body, [(0.2, 0.6), (0.1, 0.45), (0.06, 0.22)], 0.06, s)
    _rect(body, (0.24, 0.7, 0.33, 0.95), s)
    _rect(body, (0.6, 0.7, 0.69, 0.95), s)
    _circle(detail, 0.82, 0.37, 0.03, s)


def _dog(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    _ellipse(body, (0.12, 0.38, 0.75, 0.72), s)
    for x in (0.18, 0.32, 0.55, 0.66):
        _rect(body, (x, 0.6, x + 0.08, 0.95), s)
    _ellipse(body, (0.62, 0.15, 0.9, 0.45), s)
    _rect(body, (0.8, 0.27, 0.99, 0.42), s)
    _ellipse(body, (0.58, 0.17, 0.7, 0.52), s)
    _line(body, [(0.15, 0.48), (0.04, 0.3)], 0.06, s)
    _circle(detail, 0.78, 0.26, 0.03, s)
    _circle(detail, 0.97, 0.31, 0.03, s)


def _bird(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    _ellipse(body, (0.2, 0.35, 0.75, 0.7), s)
    _circle(body, 0.74, 0.3, 0.14, s)
    body.polygon(_scaled([(0.25, 0.45), (0.02, 0.3), (0.05, 0.62)], s), fill=255)
    detail.polygon(_scaled([(0.86, 0.25), (0.99, 0.32), (0.86, 0.37)], s), fill=255)
    _line(detail, [(0.42, 0.68), (0.42, 0.92)], 0.03, s)
    _line(detail, [(0.55, 0.68), (0.55, 0.92)], 0.03, s)
    _circle(detail, 0.78, 0.27, 0.03, s)


def _mug(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    body.rounded_rectangle([0.18 * s, 0.18 * s, 0.68 * s, 0.92 * s], radius=0.08 * s, fill=255)
    body.ellipse(
        [0.55 * s, 0.32 * s, 0.92 * s, 0.76 * s], outline=255, width=max(2, round(0.08 * s))
    )
    _ellipse(detail, (0.2, 0.14, 0.66, 0.24), s)


def _car(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    body.rounded_rectangle([0.03 * s, 0.42 * s, 0.97 * s, 0.75 * s], radius=0.08 * s, fill=255)
    body.polygon(_scaled([(0.22, 0.45), (0.33, 0.18), (0.68, 0.18), (0.8, 0.45)], s), fill=255)
    _circle(detail, 0.26, 0.77, 0.12, s)
    _circle(detail, 0.74, 0.77, 0.12, s)


def _ball(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    _circle(body, 0.5, 0.52, 0.42, s)


def _hat(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    _ellipse(body, (0.02, 0.66, 0.98, 0.86), s)
    body.rounded_rectangle([0.24 * s, 0.2 * s, 0.76 * s, 0.78 * s], radius=0.1 * s, fill=255)
    _rect(detail, (0.24, 0.6, 0.76, 0.67), s)


def _shoe(body: ImageDraw.ImageDraw, detail: ImageDraw.ImageDraw, s: int) -> None:
    upper = [(0.04, 0.52), (0.42, 0.48), (0.48, 0.22), (0.72, 0.2), (0.76, 0.5), (0.96, 0.62)]
    body.polygon(_scaled([*upper, (0.96, 0.8), (0.04, 0.8)], s), fill=255)
    _rect(detail, (0.03, 0.8, 0.97, 0.9), s)


SHAPES = {
    "cat": _cat,
    "dog": _dog,
    "bird": _bird,
    "mug": _mug,
    "car": _car,
    "ball": _ball,
    "hat": _hat,
    "shoe": _shoe,
}


def _pattern_mask(pattern: str, quirk: int, side: int) -> Image.Image:
    """Where the pattern colour goes, in the thing's own frame (so it flips with the thing)."""
    rng = random.Random(quirk)
    if pattern == "striped":
        width = max(2, round(side * rng.uniform(0.07, 0.14)))
        angle = rng.choice((0, 45, 90, 135))
        big = Image.new("L", (2 * side, 2 * side), 0)
        draw = ImageDraw.Draw(big)
        for y in range(rng.randrange(2 * width), 2 * side, 2 * width):
            draw.rectangle([0, y, 2 * side, y + width - 1], fill=255)
        half = side // 2
        return big.rotate(angle).crop((half, half, half + side, half + side))
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    if pattern == "spotted":
        radius = side * rng.uniform(0.05, 0.09)
        for _ in range(rng.randint(6, 11)):
            cx, cy = rng.uniform(0.1, 0.9) * side, rng.uniform(0.15, 0.9) * side
            draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=255)
    elif pattern == "checked":
        cell = max(2, round(side * rng.uniform(0.1, 0.17)))
        offset = rng.randrange(cell)
        for row, y in enumerate(range(-offset, side, cell)):
            for col, x in enumerate(range(-offset, side, cell)):
                if (row + col) % 2 == 0:
                    draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=255)
    return mask


def draw_thing(individual: Individual, side: int, flip: bool) -> tuple[Image.Image, Image.Image]:
    """The thing's pixels and its mask (L, 255 = thing), both side × side."""
    body, detail = Image.new("L", (side, side), 0), Image.new("L", (side, side), 0)
    SHAPES[individual.kind](ImageDraw.Draw(body), ImageDraw.Draw(detail), side)
    pixels = Image.new("RGB", (side, side), COLOURS[individual.colour])
    if individual.pattern_colour is not None:
        pattern = _pattern_mask(individual.pattern, individual.quirk, side)
        pixels.paste(COLOURS[individual.pattern_colour], (0, 0), pattern)
    pixels.paste(DETAIL, (0, 0), detail)
    mask = Image.fromarray(np.maximum(np.asarray(body), np.asarray(detail)))
    if flip:
        pixels = pixels.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return pixels, mask
