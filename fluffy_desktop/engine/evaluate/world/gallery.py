"""The evaluation set of the semantic test world: held-out individuals, their shots, a gallery.

Each of the eight kinds gets one held-out individual (a patterned one, so its quirk matters).
The gallery holds every individual in every place, two same-kind look-alikes of each in every
place (one shares the body colour, one the pattern and its colour), and random scenes. The
shots are five more photos of each individual, in random places, sometimes with company on
either side.

Tagging is measured on a larger set (`build_album_set`): the gallery gives each individual only
six photos, and two review rounds of ten answers ask about most of them, leaving a handful to
score. The album set adds, per individual, three more photos in every place (sometimes with
company), two of each of two fresh look-alikes in every place, and more random scenes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from fluffy_desktop.engine.evaluate.world.places import PLACES
from fluffy_desktop.engine.evaluate.world.scene import Scene, random_scene, render, scene_of
from fluffy_desktop.engine.evaluate.world.things import (
    COLOURS,
    KINDS,
    PATTERNS,
    Individual,
    random_individual,
)

NAMES = ("Fluffy", "Rexo", "Tweety", "Cuppa", "Herbie", "Bouncy", "Fedora", "Sneaks")
SHOTS = 5
RANDOM_SCENES = 60
COMPANY = 0.3  # share of shots with a second thing in them
ALBUM_PER_PLACE = 3  # the album set's extra photos of each individual in each place
ALBUM_LOOK_ALIKE_PER_PLACE = 2
ALBUM_RANDOM_SCENES = 120


@dataclass(frozen=True)
class WorldSet:
    individuals: tuple[Individual, ...]
    names: tuple[str, ...]
    shots: tuple[tuple[Scene, ...], ...]  # per individual
    gallery: tuple[Scene, ...]
    owners: tuple[int, ...]  # per gallery scene: the individual it shows, or -1

    def target(self, individual: int, place: str) -> int:
        """The gallery position of this individual in this place."""
        for position, (scene, owner) in enumerate(zip(self.gallery, self.owners, strict=True)):
            if owner == individual and scene.place == place:
                return position
        raise KeyError((individual, place))


def _patterned(rng: random.Random, kind: str) -> Individual:
    while True:
        found = random_individual(rng, kind, held_out=True)
        if found.pattern != "plain":
            return found


def look_alikes(individual: Individual, rng: random.Random) -> list[Individual]:
    """Two of the same kind: one with the same body colour, one with the same pattern."""
    patterns = [p for p in PATTERNS if p != individual.pattern]
    pattern = rng.choice(patterns)
    others = [c for c in COLOURS if c != individual.colour]
    same_colour = Individual(
        individual.kind,
        individual.colour,
        pattern,
        None if pattern == "plain" else rng.choice(others),
        rng.getrandbits(31),
    )
    colours = [c for c in COLOURS if c not in (individual.colour, individual.pattern_colour)]
    same_pattern = Individual(
        individual.kind,
        rng.choice(colours),
        individual.pattern,
        individual.pattern_colour,
        rng.getrandbits(31),
    )
    return [same_colour, same_pattern]


def _stranger(rng: random.Random, avoid: set) -> Scene:
    """A random scene in which no thing has the attributes of an evaluated individual."""
    while True:
        scene = random_scene(rng, held_out=None)
        if all(placed.individual.combination not in avoid for placed in scene.things):
            return scene


def with_company(
    individual: Individual, rng: random.Random, held_out: bool | None
) -> list[Individual]:
    """The individual and, COMPANY of the time, a thing of another kind (held_out as in
    `random_individual`), in random order from left to right: always on one side would let a
    model that favours that side look better than it is."""
    things = [individual]
    if rng.random() < COMPANY:
        kind = rng.choice([k for k in KINDS if k != individual.kind])
        things.append(random_individual(rng, kind, held_out))
        rng.shuffle(things)
    return things


def _shot(individual: Individual, rng: random.Random, place: str | None = None) -> Scene:
    """A photo of the individual (in a random place unless given), sometimes with company."""
    things = with_company(individual, rng, held_out=None)
    return scene_of(things, place or rng.choice(PLACES), rng)


def build_world_set(seed: int) -> WorldSet:
    """The evaluation set for a seed: the same on every machine."""
    rng = random.Random(f"fluffy-world-eval/{seed}")
    individuals = tuple(_patterned(rng, kind) for kind in KINDS)
    gallery: list[Scene] = []
    owners: list[int] = []
    for number, individual in enumerate(individuals):
        for place in PLACES:
            gallery.append(scene_of([individual], place, rng))
            owners.append(number)
        for other in look_alikes(individual, rng):
            gallery += [scene_of([other], place, rng) for place in PLACES]
            owners += [-1] * len(PLACES)
    avoid = {individual.combination for individual in individuals}
    gallery += [_stranger(rng, avoid) for _ in range(RANDOM_SCENES)]
    owners += [-1] * RANDOM_SCENES
    shots = tuple(tuple(_shot(ind, rng) for _ in range(SHOTS)) for ind in individuals)
    return WorldSet(individuals, NAMES[: len(individuals)], shots, tuple(gallery), tuple(owners))


@dataclass(frozen=True)
class AlbumSet:
    """More photos for measuring albums: scenes, and the individual each shows (or -1)."""

    scenes: tuple[Scene, ...]
    owners: tuple[int, ...]


def build_album_set(world: WorldSet, seed: int) -> AlbumSet:
    """The album set for a world's individuals: the same on every machine."""
    rng = random.Random(f"fluffy-world-album/{seed}")
    scenes: list[Scene] = []
    owners: list[int] = []
    for number, individual in enumerate(world.individuals):
        for place in PLACES:
            scenes += [_shot(individual, rng, place) for _ in range(ALBUM_PER_PLACE)]
            owners += [number] * ALBUM_PER_PLACE
        for other in look_alikes(individual, rng):
            for place in PLACES:
                scenes += [scene_of([other], place, rng) for _ in range(ALBUM_LOOK_ALIKE_PER_PLACE)]
                owners += [-1] * ALBUM_LOOK_ALIKE_PER_PLACE
    avoid = {individual.combination for individual in world.individuals}
    scenes += [_stranger(rng, avoid) for _ in range(ALBUM_RANDOM_SCENES)]
    owners += [-1] * ALBUM_RANDOM_SCENES
    return AlbumSet(tuple(scenes), tuple(owners))


def write_scenes(scenes: tuple[Scene, ...], folder: Path) -> list[Path]:
    """One numbered PNG per scene in folder, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{position:04d}.png" for position in range(len(scenes))]
    for path, scene in zip(paths, scenes, strict=True):
        render(scene).image.save(path)
    return paths


def write_images(world: WorldSet, folder: Path) -> tuple[list[Path], list[list[Path]]]:
    """PNG files of the gallery and of each individual's shots: (gallery, shots per individual)."""
    gallery = write_scenes(world.gallery, folder / "gallery")
    shots = [
        write_scenes(scenes, folder / "shots" / name)
        for name, scenes in zip(world.names, world.shots, strict=True)
    ]
    return gallery, shots
