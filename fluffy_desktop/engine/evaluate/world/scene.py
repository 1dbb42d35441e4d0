"""Scenes of the semantic test world: one or two things in a place, their masks and captions."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES, PLACES, draw_place
from fluffy_desktop.engine.evaluate.world.things import (
    CANVAS,
    KINDS,
    PATTERN_NOUNS,
    Individual,
    draw_thing,
    random_individual,
)

SIZE_RANGE = (0.3, 0.62)  # a thing's side as a fraction of the canvas (alone)
PAIR_RANGE = (0.26, 0.45)  # the same, when two things share the scene
LIGHT_RANGE = (0.7, 1.25)


@dataclass(frozen=True)
class Placed:
    """An individual in a scene: its bounding square (left, top, side) and mirror flag."""

    individual: Individual
    box: tuple[int, int, int]
    flip: bool


@dataclass(frozen=True)
class Scene:
    place: str
    things: tuple[Placed, ...]
    light: float = 1.0
    seed: int = 0  # the background's texture and colour jitter


@dataclass(frozen=True)
class Rendered:
    image: Image.Image
    masks: tuple[np.ndarray, ...]  # one bool CANVAS × CANVAS mask per thing, occlusion applied


def render(scene: Scene) -> Rendered:
    """Draw the scene; later things cover earlier ones (and their masks)."""
    image = draw_place(scene.place, scene.seed)
    masks: list[np.ndarray] = []
    for placed in scene.things:
        left, top, side = placed.box
        pixels, mask = draw_thing(placed.individual, side, placed.flip)
        image.paste(pixels, (left, top), mask)
        full = np.zeros((CANVAS, CANVAS), dtype=bool)
        full[top : top + side, left : left + side] = (
            np.asarray(mask)[: CANVAS - top, : CANVAS - left] > 127
        )
        masks = [m & ~full for m in masks] + [full]
    if scene.light != 1.0:
        lit = np.asarray(image, dtype=np.float32) * scene.light
        image = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    return Rendered(image, tuple(masks))


def place_things(
    individuals: list[Individual], rng: random.Random, size: tuple[float, float] | None = None
) -> tuple[Placed, ...]:
    """Random squares for one or two things (two share the canvas side by side)."""
    low, high = size or (SIZE_RANGE if len(individuals) == 1 else PAIR_RANGE)
    placed = []
    for i, individual in enumerate(individuals):
        side = round(rng.uniform(low, high) * CANVAS)
        span = CANVAS // len(individuals)
        x_low = i * span if len(individuals) > 1 else 0
        x_high = max(x_low, min(CANVAS - side, x_low + span - side // 2))
        top_low = min(CANVAS - side, round(0.2 * CANVAS))
        box = (rng.randint(x_low, x_high), rng.randint(top_low, CANVAS - side), side)
        placed.append(Placed(individual, box, rng.random() < 0.5))
    return tuple(placed)


def scene_of(
    individuals: list[Individual],
    place: str,
    rng: random.Random,
    size: tuple[float, float] | None = None,
) -> Scene:
    """These things in this place, with random positions, sizes, flips and light."""
    return Scene(
        place, place_things(individuals, rng, size), rng.uniform(*LIGHT_RANGE), rng.getrandbits(31)
    )


def random_scene(rng: random.Random, held_out: bool | None = False) -> Scene:
    """A training scene: one thing (two in a third of scenes) of random kinds in a random place."""
    count = 2 if rng.random() < 0.35 else 1
    kinds = rng.sample(KINDS, count)
    things = [random_individual(rng, kind, held_out) for kind in kinds]
    return scene_of(things, rng.choice(PLACES), rng)


# --- captions ---------------------------------------------------------------------------------
def with_article(phrase: str) -> str:
    """The phrase after "a" or "an"."""
    return f"{'an' if phrase[:1] in 'aeiou' else 'a'} {phrase}"


def thing_phrase(individual: Individual, rng: random.Random) -> str:
    """A phrase naming some of the thing's attributes, never its quirk."""
    kind, colour, pattern = individual.kind, individual.colour, individual.pattern
    choices = [kind, f"{colour} {kind}", f"{pattern} {kind}", f"{colour} {pattern} {kind}"]
    weights = [1, 3, 1, 2]
    if individual.pattern_colour is not None:
        noun = PATTERN_NOUNS[pattern]
        choices += [
            f"{colour} {kind} with {individual.pattern_colour} {noun}",
            f"{kind} with {individual.pattern_colour} {noun}",
            f"{colour} and {individual.pattern_colour} {pattern} {kind}",
        ]
        weights += [4, 1, 2]
    return rng.choices(choices, weights)[0]


def caption(scene: Scene, rng: random.Random) -> str:
    """One of several templates, mentioning some attributes and usually the place."""
    phrases = [thing_phrase(placed.individual, rng) for placed in scene.things]
    where = PLACE_PHRASES[scene.place]
    if len(phrases) == 2:
        pair = f"{with_article(phrases[0])} and {with_article(phrases[1])}"
        templates = [
            f"{pair} {where}",
            f"a photo of {pair} {where}",
            pair,
            f"{with_article(phrases[0])} next to {with_article(phrases[1])}",
        ]
        return rng.choices(templates, [4, 2, 2, 1])[0]
    thing = phrases[0]
    templates = [
        f"{with_article(thing)} {where}",
        f"a photo of {with_article(thing)} {where}",
        f"{thing} {where}",
        f"a photo of {with_article(thing)}",
        with_article(thing),
        f"{where}, {with_article(thing)}",
    ]
    return rng.choices(templates, [5, 3, 3, 2, 1, 1])[0]
