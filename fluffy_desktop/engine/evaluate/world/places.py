"""The places of the semantic test world: seeded backgrounds drawn with PIL."""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageDraw

from fluffy_desktop.engine.evaluate.world.things import CANVAS

PLACE_PHRASES = {
    "beach": "on the beach",
    "grass": "on the grass",
    "snow": "in the snow",
    "sofa": "on the sofa",
    "street": "on the street",
    "kitchen": "in the kitchen",
}
PLACES = tuple(PLACE_PHRASES)

RGB = tuple[int, int, int]


def _jitter(colour: RGB, rng: random.Random, amount: int = 12) -> RGB:
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)  # type: ignore[return-value]


def _bands(draw: ImageDraw.ImageDraw, rng: random.Random, bands: list[tuple[float, RGB]]) -> None:
    """Horizontal bands from the top: (where the band ends as a fraction, colour)."""
    top = 0
    for end, colour in bands:
        bottom = round(end * CANVAS)
        draw.rectangle([0, top, CANVAS, bottom], fill=_jitter(colour, rng))
        top = bottom


def _specks(draw: ImageDraw.ImageDraw, rng: random.Random, top: float, colour: RGB, n: int) -> None:
    for _ in range(n):
        x, y = rng.uniform(0, CANVAS), rng.uniform(top * CANVAS, CANVAS)
        draw.ellipse([x, y, x + 1.5, y + 1.5], fill=_jitter(colour, rng, 20))


def _beach(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    horizon = rng.uniform(0.3, 0.4)
    _bands(
        draw,
        rng,
        [(horizon, (135, 200, 240)), (horizon + 0.12, (30, 100, 170)), (1, (225, 200, 140))],
    )
    _specks(draw, rng, horizon + 0.12, (190, 165, 110), 60)


def _grass(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    horizon = rng.uniform(0.15, 0.3)
    _bands(draw, rng, [(horizon, (170, 210, 240)), (1, (70, 145, 55))])
    for _ in range(140):
        x, y = rng.uniform(0, CANVAS), rng.uniform(horizon * CANVAS, CANVAS)
        draw.line([x, y, x + rng.uniform(-2, 2), y - 5], fill=_jitter((40, 105, 35), rng), width=1)


def _snow(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    horizon = rng.uniform(0.25, 0.4)
    _bands(draw, rng, [(horizon, (195, 205, 218)), (1, (245, 248, 252))])
    for _ in range(5):
        x, y = rng.uniform(0, CANVAS), rng.uniform(horizon * CANVAS, CANVAS)
        draw.ellipse([x - 20, y - 4, x + 20, y + 4], fill=_jitter((222, 230, 242), rng, 5))
    _specks(draw, rng, 0, (255, 255, 255), 50)


def _sofa(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    _bands(draw, rng, [(0.82, (225, 215, 190)), (1, (150, 110, 70))])
    cover = _jitter((105, 40, 55), rng)
    draw.rounded_rectangle([6, 24, CANVAS - 6, 92], radius=10, fill=cover)
    seat = tuple(max(0, c - 20) for c in cover)
    draw.rectangle([6, 80, CANVAS - 6, 108], fill=seat)
    draw.rounded_rectangle([0, 56, 16, 110], radius=6, fill=cover)
    draw.rounded_rectangle([CANVAS - 16, 56, CANVAS, 110], radius=6, fill=cover)


def _street(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    kerb = rng.uniform(0.35, 0.45)
    _bands(draw, rng, [(kerb, (165, 90, 70)), (kerb + 0.08, (185, 185, 180)), (1, (75, 75, 80))])
    for y in range(4, round(kerb * CANVAS), 6):
        draw.line([0, y, CANVAS, y], fill=(120, 70, 60), width=1)
    lane = rng.uniform(0.7, 0.85) * CANVAS
    for x in range(rng.randrange(20), CANVAS, 28):
        draw.rectangle([x, lane, x + 14, lane + 2], fill=(235, 235, 225))


def _kitchen(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    counter = rng.uniform(0.55, 0.7)
    _bands(
        draw, rng, [(counter, (232, 232, 226)), (counter + 0.05, (90, 90, 95)), (1, (170, 120, 70))]
    )
    tile = rng.choice((10, 12, 14))
    for v in range(0, CANVAS, tile):
        draw.line([v, 0, v, counter * CANVAS], fill=(190, 190, 185), width=1)
        if v <= counter * CANVAS:
            draw.line([0, v, CANVAS, v], fill=(190, 190, 185), width=1)


BACKGROUNDS: dict[str, Callable[[ImageDraw.ImageDraw, random.Random], None]] = {
    "beach": _beach,
    "grass": _grass,
    "snow": _snow,
    "sofa": _sofa,
    "street": _street,
    "kitchen": _kitchen,
}


def draw_place(place: str, seed: int) -> Image.Image:
    """The place's background, CANVAS × CANVAS RGB."""
    image = Image.new("RGB", (CANVAS, CANVAS))
    BACKGROUNDS[place](ImageDraw.Draw(image), random.Random(seed))
    return image
