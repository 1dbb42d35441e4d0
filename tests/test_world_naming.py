"""The world model's naming loss: labels from the generator, phrases, the loss, the text cut."""

from __future__ import annotations

import json
import random

import open_clip
import torch
import torch.nn.functional as F

from fluffy_desktop.engine.evaluate.world.model import MODEL_NAME, WORLD_CONFIG, encode_text
from fluffy_desktop.engine.evaluate.world.naming import (
    LABELS,
    NONE,
    naming_loss,
    naming_phrases,
    scene_labels,
)
from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES
from fluffy_desktop.engine.evaluate.world.scene import random_scene

# naming_phrases' groups: 6 places, 8 kinds, 8 × 11 colours, 8 × 4 patterns, 3 × 11 "with"s
KIND_AT, COLOUR_AT, PATTERN_AT, WITH_AT = 6, 14, 14 + 88, 14 + 88 + 32


def test_labels_name_the_scene_and_photos_of_two_things_get_only_their_place():
    rng = random.Random(3)
    phrases = naming_phrases()
    for scene in [random_scene(rng) for _ in range(100)]:
        labels = scene_labels(scene)
        assert len(labels) == len(LABELS)
        assert phrases[labels[0]] == PLACE_PHRASES[scene.place]
        if len(scene.things) == 2:
            assert labels[1:] == [NONE] * (len(LABELS) - 1)
            continue
        thing = scene.things[0].individual
        _, kind, colour, pattern, noun, pattern_colour = labels
        assert phrases[KIND_AT + kind] == f"a photo of a {thing.kind}"
        assert phrases[COLOUR_AT + kind * 11 + colour] == f"a {thing.colour} {thing.kind}"
        assert phrases[PATTERN_AT + kind * 4 + pattern] == f"a {thing.pattern} {thing.kind}"
        if thing.pattern_colour is None:
            assert (noun, pattern_colour) == (NONE, NONE)
        else:
            said = phrases[WITH_AT + noun * 11 + pattern_colour]
            assert said.startswith(f"with {thing.pattern_colour} ")


def _aligned(labels: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal phrase vectors, and photos that equal the sum of their true phrases."""
    phrases = torch.eye(len(naming_phrases()))
    images = torch.zeros(len(labels), len(phrases))
    for row, (place, kind, colour, pattern, noun, pattern_colour) in enumerate(labels):
        images[row, place] = 1
        if kind != NONE:
            images[row, KIND_AT + kind] = 1
            images[row, COLOUR_AT + kind * 11 + colour] = 1
            images[row, PATTERN_AT + kind * 4 + pattern] = 1
        if noun != NONE:
            images[row, WITH_AT + noun * 11 + pattern_colour] = 1
    return F.normalize(images, dim=-1), phrases


def test_the_loss_is_low_for_photos_that_match_their_phrases_and_high_for_others():
    rng = random.Random(4)
    labels = [scene_labels(random_scene(rng)) for _ in range(64)]
    images, phrases = _aligned(labels)
    scale = torch.tensor(100.0)
    right = naming_loss(images, phrases, torch.tensor(labels), scale)
    shuffled = naming_loss(images, phrases, torch.tensor(labels[1:] + labels[:1]), scale)
    assert float(right) < 0.01 < 10 < float(shuffled)


def test_photos_without_a_label_add_nothing_to_the_loss():
    rng = random.Random(5)
    labels = [scene_labels(random_scene(rng)) for _ in range(32)]
    images, phrases = _aligned(labels)
    blank = [[row[0]] + [NONE] * (len(LABELS) - 1) for row in labels]
    noise = F.normalize(torch.randn_like(images), dim=-1)
    alone = naming_loss(images, phrases, torch.tensor(blank), torch.tensor(50.0))
    with_noise = naming_loss(
        torch.cat([images, noise]), phrases, torch.tensor(blank + blank), torch.tensor(50.0)
    )
    assert float(alone) < 0.01 and float(with_noise) > 0.5


def test_the_cut_text_encoder_equals_open_clips(tmp_path):
    config = tmp_path / f"{MODEL_NAME}.json"
    config.write_text(json.dumps(WORLD_CONFIG))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model(MODEL_NAME, pretrained=None)
    tokens = open_clip.get_tokenizer(MODEL_NAME)(["a cat", "a red dog with blue spots on the sofa"])
    assert torch.allclose(encode_text(model, tokens), model.encode_text(tokens), atol=1e-5)
