"""f_θ on the tiny model: training lowers the cycle loss, and its guess starts near the photos."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from fluffy_desktop.engine.concepts import wordsets
from fluffy_desktop.engine.concepts.inverter import INFO_KEY, DeepSet, Inverter, train_inverter
from fluffy_desktop.engine.concepts.learn import LearnSettings, learn_concept, learn_word
from fluffy_desktop.engine.concepts.store import header_metadata
from fluffy_desktop.engine.concepts.wordsets import BadTrainingData, word_pairs
from fluffy_desktop.engine.errors import Cancelled, ConceptMismatch
from fluffy_desktop.engine.resources import resource
from tests.test_learn import photos
from tests.test_views import counting

CLASSES = {"fluffy": "orange cat", "rex": "blue dog", "mug": "green mug", "ball": "pink ball"}
HELD_OUT = "lamp"  # a thing the inverter never saw in training


@pytest.fixture(scope="module")
def class_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    for thing, name in CLASSES.items():
        folder = root / name.replace(" ", "_")
        folder.mkdir()
        for i, image in enumerate(photos(thing, 1000, 8)):
            image.save(folder / f"{i}.png")
    (root / "orange_cat" / "broken.jpg").write_bytes(b"not a photo")
    (root / "empty_class").mkdir()
    (root / "notes.txt").write_text("not a class")
    return root


@pytest.fixture(scope="module")
def trained(tiny_clip, class_folders):
    return train_inverter(tiny_clip, class_folders, 60, 128, seed=0, batch_size=32, lr=1e-3)


def test_training_lowers_the_cycle_loss(trained):
    _, stats = trained
    assert stats["classes"] == len(CLASSES) and stats["gap"] == "photos"
    assert stats["unreadable"] == 1
    assert stats["words"] > 300 and stats["steps"] == 60 and stats["steps_per_s"] > 0
    # measured on the same fixed batches and template before and after training
    assert stats["probe_cycle_after"] < stats["probe_cycle_before"] - 0.1
    assert stats["probe_image_after"] < stats["probe_image_before"] - 1
    assert stats["loss_last"] < stats["loss_first"]


@pytest.mark.parametrize("thing", ["fluffy", HELD_OUT])
def test_an_inverter_start_is_closer_to_the_shots_than_the_kind_word(tiny_clip, trained, thing):
    inverter, _ = trained
    shots = photos(thing, 5000)
    guess = inverter.predict(tiny_clip.encode_images(shots))
    at_rest = LearnSettings(steps=0)
    _, inverted = learn_word(tiny_clip, "cat", shots, init=guess, settings=at_rest)
    _, kind = learn_word(tiny_clip, "cat", shots, settings=at_rest)
    assert inverted["similarity_first"] > kind["similarity_first"] + 0.1


def test_learning_from_an_inverter_encodes_each_shot_once(tiny_clip, trained, monkeypatch):
    """f_θ guesses from the same embeddings the views start with, not from a second pass."""
    inverter, _ = trained
    shots = photos("fluffy", 5000)
    settings = LearnSettings(steps=3)
    guess = inverter.predict(tiny_clip.encode_images(shots))
    expected, _ = learn_word(tiny_clip, "cat", shots, init=guess, settings=settings)
    encoded = counting(monkeypatch, tiny_clip)
    word, stats = learn_concept(tiny_clip, "cat", shots, inverter=inverter, settings=settings)
    assert sum(encoded) == len(shots) * (settings.augmentations + 1)
    assert stats["init"] == "inverter"
    torch.testing.assert_close(word, expected, atol=1e-5, rtol=0)


def test_save_and_load_per_model(tiny_clip, trained, tmp_path):
    inverter, _ = trained
    inverter.save(tmp_path)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".safetensors"]
    assert all(":" not in p.name for p in tmp_path.iterdir())
    loaded = Inverter.load(tmp_path, tiny_clip.identity)
    embeddings = tiny_clip.encode_images(photos("mug", 70, 3))
    assert torch.equal(loaded.predict(embeddings), inverter.predict(embeddings))
    assert Inverter.load(tmp_path, "ViT-B-32:0000000000000000") is None
    assert Inverter.load(tmp_path / "nothing", tiny_clip.identity) is None


def test_a_file_for_another_model_is_ignored_and_a_damaged_one_refused(
    tiny_clip, trained, tmp_path
):
    inverter, _ = trained
    inverter.save(tmp_path)
    path = next(tmp_path.glob("*.safetensors"))
    info = json.loads(header_metadata(path.read_bytes())[INFO_KEY])
    tensors = load_file(path)
    save_file(tensors, path, metadata={INFO_KEY: json.dumps({**info, "model": "RN50:1"})})
    assert Inverter.load(tmp_path, tiny_clip.identity) is None
    path.write_bytes(b"\x80\x04pickle?")
    with pytest.raises(ConceptMismatch, match="inverter train"):
        Inverter.load(tmp_path, tiny_clip.identity)


def test_predict_takes_numpy_or_torch_and_ignores_order(tiny_clip, trained):
    inverter, _ = trained
    embeddings = tiny_clip.encode_images(photos("ball", 80, 4))
    word = inverter.predict(embeddings)
    assert word.shape == (tiny_clip.word_width,) and word.dtype == torch.float32
    torch.testing.assert_close(inverter.predict(torch.from_numpy(embeddings[::-1].copy())), word)
    assert inverter.predict(embeddings[0]).shape == word.shape


def test_the_deep_set_is_permutation_invariant():
    net = DeepSet(8, 16, 4).eval()
    sets = torch.randn(2, 5, 8)
    torch.testing.assert_close(net(sets), net(sets[:, torch.randperm(5)]))


def test_text_sets_alone_train_and_use_the_library_for_the_gap(tiny_clip, monkeypatch):
    monkeypatch.setattr(wordsets, "word_pairs", lambda: word_pairs()[:40])
    _, stats = train_inverter(tiny_clip, None, 2, 16)
    assert stats["gap"] == "none" and stats["classes"] == 0 and stats["words"] == 40
    library = tiny_clip.encode_images(photos("shoe", 0, 4))
    _, stats = train_inverter(tiny_clip, None, 2, 16, library=library)
    assert stats["gap"] == "library"


def test_training_needs_two_classes_and_stops_when_cancelled(tiny_clip, class_folders, tmp_path):
    (tmp_path / "only_cats").mkdir()
    photos("fluffy", 0, 1)[0].save(tmp_path / "only_cats" / "a.png")
    with pytest.raises(BadTrainingData, match="two class-named"):
        train_inverter(tiny_clip, tmp_path, 2, 16)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        train_inverter(tiny_clip, None, 2, 16, cancel=cancel)


def test_the_shipped_word_lists_fit_together():
    pairs = word_pairs()
    kinds = {line for line in resource("words/kinds.txt").read_text().splitlines()}
    assert len(pairs) >= 300 and len({fine for fine, _ in pairs}) == len(pairs)
    assert all(fine != coarse and coarse in kinds for fine, coarse in pairs)
    assert np.all([fine == fine.strip().lower() for fine, _ in pairs])
