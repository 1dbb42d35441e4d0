"""Named things: training photos whose captions call one particular thing by its own name.

A real CLIP has read the names of many particular things (a famous ship, a brand's shoe, a
pet in its owner's caption), so its text tower can say "this one, not another of its kind".
World captions name only attributes, so a word learned for a held-out individual can only
mean what attribute words can. `TrainSettings.named` puts that many photos of *named things*
in each batch: a fixed pool of training individuals, each with a made-up name of two or three
syllables, captioned by name ("Zulami on the beach", "the cat Zulami"). Held-out combinations
never appear: every named thing and companion is a training one, and no name is an
evaluation name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from fluffy_desktop.engine.evaluate.world.gallery import NAMES, with_company
from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES, PLACES
from fluffy_desktop.engine.evaluate.world.scene import Scene, scene_of, thing_phrase, with_article
from fluffy_desktop.engine.evaluate.world.things import Individual, random_individual

POOL = 512  # named things in the world
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"


@dataclass(frozen=True)
class NamedThing:
    name: str
    individual: Individual


def _name(rng: random.Random) -> str:
    syllables = rng.choice((2, 3))
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))


@cache
def named_things() -> tuple[NamedThing, ...]:
    """The world's named things: the same on every machine, whatever the training seed."""
    rng = random.Random("fluffy-world-named")
    taken = {name.casefold() for name in NAMES}
    things: list[NamedThing] = []
    while len(things) < POOL:
        name = _name(rng)
        if name not in taken:
            taken.add(name)
            things.append(NamedThing(name.capitalize(), random_individual(rng)))
    return tuple(things)


def named_caption(thing: NamedThing, scene: Scene, rng: random.Random) -> str:
    """A caption that calls the thing by its name, sometimes with its kind or attributes."""
    name, kind = thing.name, thing.individual.kind
    where = PLACE_PHRASES[scene.place]
    templates = [
        f"{name} {where}",
        f"a photo of {name} {where}",
        f"the {kind} {name} {where}",
        f"a photo of the {kind} {name}",
        f"{name}, {with_article(thing_phrase(thing.individual, rng))}",
        name,
    ]
    return rng.choices(templates, [4, 2, 3, 2, 2, 1])[0]


def named_photo(rng: random.Random) -> tuple[Scene, str]:
    """A photo of a random named thing in a random place (sometimes with a training thing of
    another kind on either side), and its caption."""
    thing = rng.choice(named_things())
    scene = scene_of(with_company(thing.individual, rng, held_out=False), rng.choice(PLACES), rng)
    return scene, named_caption(thing, scene, rng)
