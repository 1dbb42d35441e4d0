"""Small things in search: each individual drawn small beside a large thing of another kind.

The gallery of the seed is redrawn so that every photo of an individual or of its look-alikes
shows it at SMALL_RANGE of the canvas side (about 2 % of the frame) in a bottom corner, with a
large thing of another kind beside it; the random scenes stay as they are. "⟨Name⟩ on the
beach" has one right answer, as in the main protocol. MRR and recall@10 are measured from the
whole photos and with regions (engine/regions.py), on this set (indexed in a home of its own)
and on the usual gallery (where regions must not hurt).
"""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.evaluate.world.gallery import WorldSet, write_images
from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES, PLACES
from fluffy_desktop.engine.evaluate.world.scene import Placed, Scene
from fluffy_desktop.engine.evaluate.world.things import CANVAS, KINDS, random_individual
from fluffy_desktop.engine.tasks import Progress

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup

SMALL_RANGE = (0.18, 0.24)
LARGE = 0.5  # the companion's side, as a share of the canvas
K = 10


def _small(scene: Scene, rng: random.Random) -> Scene:
    """The scene's one thing small in a bottom corner, a large other thing beside it."""
    thing = scene.things[0].individual
    side = round(rng.uniform(*SMALL_RANGE) * CANVAS)
    left = rng.choice([rng.randint(0, 10), rng.randint(CANVAS - side - 10, CANVAS - side)])
    small = Placed(thing, (left, rng.randint(CANVAS // 2, CANVAS - side), side), rng.random() < 0.5)
    other = random_individual(rng, rng.choice([k for k in KINDS if k != thing.kind]), None)
    large_side = round(LARGE * CANVAS)
    large_left = CANVAS - large_side - 5 if left < CANVAS // 2 else 5
    large = Placed(other, (large_left, rng.randint(20, CANVAS - large_side), large_side), False)
    return Scene(scene.place, (small, large), scene.light, scene.seed)


def small_world_set(world: WorldSet, seed: int) -> WorldSet:
    """The set with its individuals and look-alikes drawn small (see the module)."""
    rng = random.Random(f"fluffy-world-small/{seed}")
    look_alike_scenes = len(world.individuals) * len(PLACES) * 3
    gallery = tuple(
        _small(scene, rng) if position < look_alike_scenes else scene
        for position, scene in enumerate(world.gallery)
    )
    return replace(world, gallery=gallery)


def _ranks(album: Album, world: WorldSet, gallery: list[Path], regions: bool) -> np.ndarray:
    """The rank (1 = first) of the right photo for each in-context query, through
    Album.nearest over the whole gallery (with or without regions)."""
    ranks = []
    for number, name in enumerate(world.names):
        for place in PLACES:
            vector = album.query_vector(f"{name} {PLACE_PHRASES[place]}")
            found = [hit.path.resolve() for hit in album.nearest(vector, len(gallery), regions)]
            ranks.append(found.index(gallery[world.target(number, place)].resolve()) + 1)
    return np.array(ranks)


def _scores(ranks: dict[str, np.ndarray]) -> dict:
    return {
        method: {
            "mrr": round(100.0 * float(np.mean(1.0 / values)), 4),
            "r10": round(100.0 * float(np.mean(values <= K)), 4),
        }
        for method, values in ranks.items()
    }


def regions_quality(setup: Setup, seed: int, progress: Progress) -> dict:
    """In-context MRR and recall@10 (percent) on the usual gallery and on the small set, from
    the whole photos and with regions: {"usual": {...}, "small": {...}}."""
    methods = {"whole": False, "regions": True}
    usual = {m: _ranks(setup.album, setup.world, setup.gallery, r) for m, r in methods.items()}
    world = small_world_set(setup.world, seed)
    folder = setup.album.home.root.parent / "small"
    gallery, _ = write_images(world, folder)
    album = Album(folder / "home", setup.album.spec, clip=setup.album.clip())
    shutil.copytree(setup.album.home.concepts_dir, album.home.concepts_dir, dirs_exist_ok=True)
    with album:
        album.index([gallery[0].parent], progress)
        small = {m: _ranks(album, world, gallery, r) for m, r in methods.items()}
    return {"usual": _scores(usual), "small": _scores(small)}
