"""The semantic test world: seeded scenes, held-out combinations, masks, the shipped model."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fluffy_desktop.cli import main
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.evaluate.world.gallery import (
    build_album_set,
    build_world_set,
    look_alikes,
)
from fluffy_desktop.engine.evaluate.world.model import (
    WORLD_CONFIG,
    TrainSettings,
    config_digest,
    model_info,
    shipped_model,
    train_world,
)
from fluffy_desktop.engine.evaluate.world.places import PLACES
from fluffy_desktop.engine.evaluate.world.report import format_ceiling
from fluffy_desktop.engine.evaluate.world.run import world_spec
from fluffy_desktop.engine.evaluate.world.scene import caption, random_scene, render
from fluffy_desktop.engine.evaluate.world.tagging import best_cut
from fluffy_desktop.engine.evaluate.world.things import (
    COLOURS,
    KINDS,
    PATTERNS,
    WORLD_VERSION,
    is_held_out,
)


def test_the_world_is_the_same_for_the_same_seed():
    first, again, other = build_world_set(3), build_world_set(3), build_world_set(4)
    assert first == again and first != other
    pixels = [np.asarray(render(s).image) for s in (first.gallery[7], again.gallery[7])]
    assert np.array_equal(*pixels)


def test_training_scenes_cover_the_vocabulary_and_never_show_a_held_out_combination():
    rng = random.Random(0)
    scenes = [random_scene(rng) for _ in range(600)]
    things = [placed.individual for scene in scenes for placed in scene.things]
    assert not any(is_held_out(thing.combination) for thing in things)
    assert {t.kind for t in things} == set(KINDS) and len(KINDS) >= 8
    assert {t.colour for t in things} == set(COLOURS) and len(COLOURS) >= 10
    assert {t.pattern for t in things} == set(PATTERNS) and len(PATTERNS) >= 4
    assert {s.place for s in scenes} == set(PLACES) and len(PLACES) >= 6
    assert 1 < Counter(len(s.things) for s in scenes)[2] < 600


def test_evaluated_individuals_are_held_out_and_their_look_alikes_differ():
    world = build_world_set(0)
    assert [ind.kind for ind in world.individuals] == list(KINDS)
    for individual in world.individuals:
        assert is_held_out(individual.combination) and individual.pattern != "plain"
        for other in look_alikes(individual, random.Random(1)):
            assert other.kind == individual.kind and other.combination != individual.combination
            assert other.pattern_colour != other.colour
    for number in range(len(world.individuals)):
        assert [world.gallery[world.target(number, p)].place for p in PLACES] == list(PLACES)


def test_the_album_set_shows_each_individual_in_every_place_among_look_alikes_and_strangers():
    world = build_world_set(0)
    album_set = build_album_set(world, 0)
    assert album_set == build_album_set(world, 0) != build_album_set(world, 1)
    owners = Counter(album_set.owners)
    assert [owners[number] for number in range(len(KINDS))] == [18] * len(KINDS)
    assert owners[-1] > 300
    for number, individual in enumerate(world.individuals):
        own = [s for s, o in zip(album_set.scenes, album_set.owners, strict=True) if o == number]
        assert Counter(s.place for s in own) == Counter(dict.fromkeys(PLACES, 3))
        assert all(individual in [p.individual for p in s.things] for s in own)
    others = [
        p.individual
        for s, o in zip(album_set.scenes, album_set.owners, strict=True)
        if o == -1
        for p in s.things
    ]
    assert not {t.combination for t in others} & {i.combination for i in world.individuals}


def test_evaluation_photos_with_company_show_the_individual_on_either_side():
    """Always on one side, a model that favours that side would look better than it is."""
    world = build_world_set(0)
    photos = [
        (scene, individual)
        for shots, individual in zip(world.shots, world.individuals, strict=True)
        for scene in shots
    ]
    album_set = build_album_set(world, 0)
    photos += [
        (scene, world.individuals[owner])
        for scene, owner in zip(album_set.scenes, album_set.owners, strict=True)
        if owner >= 0
    ]
    sides = Counter(
        "left" if scene.things[0].individual == individual else "right"
        for scene, individual in photos
        if len(scene.things) == 2
    )
    assert sides["left"] >= 15 and sides["right"] >= 15, sides


def test_the_best_cut_of_a_ranking_is_where_f1_peaks():
    ranked = np.array([True, True, False, True, False])
    assert best_cut(ranked, 3).tolist() == [4, 3, 3]  # F1 6/7 after four photos
    assert best_cut(ranked, 5).tolist() == [4, 5, 3]  # two more, ranked out of sight
    assert best_cut(np.zeros(4, dtype=bool), 2).tolist() == [0, 2, 0]


def test_the_ceiling_table_shows_every_method_on_the_gallery():
    row = {"identity": 87.5, "precision": 90.0, "recall": 93.75, "f1": 91.84}
    methods = {m: dict(row) for m in ("app_word", "fitted_word", "probe", "mean_shot")}
    methods["fitted_word"]["identity"] = 91.67
    doc = {"seed": 2, "methods": methods, "fitted_on": 456, "scored_on": 204}
    lines = format_ceiling(doc).splitlines()
    assert "seed 2" in lines[0] and "456" in lines[0] and "204" in lines[0]
    fitted = next(line.split() for line in lines if line.split()[:1] == ["fitted_word"])
    assert fitted[1:] == ["91.67", "90.00", "93.75", "91.84"]
    assert sum(line.split()[:1] == ["probe"] for line in lines) == 1


def test_every_thing_has_a_mask_where_it_was_drawn():
    rng = random.Random(5)
    for scene in [random_scene(rng) for _ in range(40)]:
        drawn = render(scene)
        assert len(drawn.masks) == len(scene.things)
        for mask in drawn.masks:
            assert mask.shape == (128, 128) and mask.sum() > 20
        if len(drawn.masks) == 2:
            assert not (drawn.masks[0] & drawn.masks[1]).any()


def test_captions_name_the_kind_and_only_true_attributes():
    rng = random.Random(2)
    for scene in [random_scene(rng) for _ in range(200)]:
        text = caption(scene, rng)
        for placed in scene.things:
            assert placed.individual.kind in text
        named = {c for c in COLOURS if f" {c} " in f" {text} "}
        assert named <= {c for p in scene.things for c in p.individual.combination[1::2] if c}


def test_the_shipped_world_model_matches_this_world_and_config():
    config, weights = shipped_model()
    assert json.loads(config.read_text()) == WORLD_CONFIG
    info = model_info(weights)
    assert info["world"] == WORLD_VERSION, "the world changed: run `fluffy eval world train`"
    assert info["config"] == config_digest()
    assert weights.stat().st_size <= 30 * 2**20


def test_the_world_model_loads_like_any_model_file(tmp_path):
    clip = ClipModel.load(world_spec("cpu"), tmp_path)
    assert clip.dim == WORLD_CONFIG["embed_dim"] and clip.image_size == 64


def test_world_training_writes_a_loadable_model_with_its_record(tmp_path):
    doc = train_world(tmp_path / "out", seed=1, steps=2)
    assert doc["steps"] == 2 and doc["world"] == WORLD_VERSION and doc["naming"] == 1.0
    assert doc["instances"] == 0.0 and doc["groups"] == 0 and doc["named"] == 0
    assert (doc["positions"], doc["patch_dropout"]) == ("sin_cos_2d", 0.5)
    assert json.loads(Path(doc["config_file"]).read_text()) == WORLD_CONFIG
    assert doc["config"] == config_digest()
    assert model_info(tmp_path / "out" / "world-clip.safetensors")["seed"] == 1
    spec = ModelSpec(doc["config_file"], None, tmp_path / "out" / "world-clip.safetensors", "cpu")
    assert ClipModel.load(spec, tmp_path).dim == WORLD_CONFIG["embed_dim"]


def test_world_training_can_learn_the_positions_and_keep_every_patch(tmp_path, capsys):
    args = ["--home", str(tmp_path / "home"), "eval", "world", "train", "--steps", "1"]
    tried = ["--positions", "learnable", "--patch-dropout", "0", "--out", str(tmp_path / "out")]
    assert main([*args, *tried, "--batch", "8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["positions"], doc["patch_dropout"]) == ("learnable", 0.0)
    config = json.loads(Path(doc["config_file"]).read_text())
    assert config["vision_cfg"] == {
        **WORLD_CONFIG["vision_cfg"],
        "pos_embed_type": "learnable",
        "patch_dropout": 0.0,
    }
    assert doc["config"] == config_digest(config) != config_digest()
    spec = ModelSpec(doc["config_file"], None, Path(doc["weights_file"]), "cpu")
    clip = ClipModel.load(spec, tmp_path)
    photo = Image.new("RGB", (64, 64), (200, 40, 40))
    assert np.array_equal(clip.encode_images([photo]), clip.encode_images([photo]))


def test_world_training_refuses_a_patch_dropout_of_one_and_writes_nothing(tmp_path, capsys):
    args = ["--home", str(tmp_path / "home"), "eval", "world", "train", "--steps", "1"]
    assert main([*args, "--patch-dropout", "1", "--out", str(tmp_path / "out")]) == 2
    message = "fluffy: error: --patch-dropout must be at least 0 and below 1"
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "out").exists()
    with pytest.raises(FluffyError, match="--patch-dropout"):
        TrainSettings(patch_dropout=-0.1)


def test_world_training_takes_a_batch_size_and_refuses_one_too_small(tmp_path, capsys):
    args = ["--home", str(tmp_path / "home"), "eval", "world", "train", "--steps", "1"]
    assert main([*args, "--batch", "8", "--out", str(tmp_path / "small"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["batch"] == 8 == model_info(Path(doc["weights_file"]))["batch"]
    assert main([*args, "--batch", "1", "--out", str(tmp_path / "out")]) == 2
    message = (
        "fluffy: error: --batch must hold two random scenes besides any groups and named photos"
    )
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "out").exists()


def test_world_training_from_the_cli_can_swap_the_naming_loss_for_the_instance_loss(
    tmp_path, capsys
):
    args = ["--home", str(tmp_path / "home"), "eval", "world", "train", "--steps", "1"]
    swap = ["--naming", "0", "--instances", "1", "--named", "16"]
    assert main([*args, *swap, "--out", str(tmp_path / "out"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["naming"] == 0.0 and doc["instances"] == 1.0 and doc["steps"] == 1
    info = model_info(tmp_path / "out" / "world-clip.safetensors")
    assert (info["naming"], info["instances"], info["groups"], info["named"]) == (0.0, 1.0, 16, 16)
