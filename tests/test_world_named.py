"""Named things: training photos captioned with one particular thing's own name."""

from __future__ import annotations

import random

import open_clip
import torch

from fluffy_desktop.engine.evaluate.world.gallery import NAMES
from fluffy_desktop.engine.evaluate.world.model import TrainSettings, _Batches
from fluffy_desktop.engine.evaluate.world.named import POOL, named_photo, named_things
from fluffy_desktop.engine.evaluate.world.things import is_held_out


def test_named_things_are_fixed_training_things_with_names_of_their_own():
    things = named_things()
    names = [thing.name for thing in things]
    assert len(things) == POOL and len(set(names)) == POOL
    assert not {name.casefold() for name in names} & {name.casefold() for name in NAMES}
    assert not any(is_held_out(thing.individual.combination) for thing in things)
    assert len({thing.individual.kind for thing in things}) == 8


def test_a_named_photo_shows_the_thing_its_caption_names_and_no_held_out_thing():
    rng = random.Random(3)
    by_name = {thing.name: thing.individual for thing in named_things()}
    for _ in range(300):
        scene, caption = named_photo(rng)
        (name,) = [word.strip(",") for word in caption.split() if word.strip(",") in by_name]
        assert by_name[name] in [placed.individual for placed in scene.things]
        assert not any(is_held_out(p.individual.combination) for p in scene.things)


def test_batches_caption_their_named_photos_by_name_and_the_rest_by_attributes():
    settings = TrainSettings(batch=24, named=8, instances=1.0)  # 3 groups: half the batch
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    seen: list[str] = []

    def tokenize(texts: list[str]):
        seen.extend(texts)
        return tokenizer(texts)

    batch = next(iter(_Batches(settings, lambda image: torch.zeros(3, 8, 8), tokenize)))
    names = {thing.name for thing in named_things()}
    named = [any(name in text.split(" ") or f"{name}," in text for name in names) for text in seen]
    assert named == [False] * 12 + [True] * 8 + [False] * 4  # groups, named things, scenes
    assert len(batch[0]) == 24
