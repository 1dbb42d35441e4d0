"""The PerVL harness: dataset layouts, slot filling, shot sampling and exact metric arithmetic."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.evaluate import METHODS, format_table, run_pervl
from fluffy_desktop.engine.evaluate import pervl as pervl_module
from fluffy_desktop.engine.evaluate.dataset import load_pervl, slot_template
from fluffy_desktop.engine.evaluate.metrics import (
    by_score,
    identity_precision,
    ranks,
    retrieval_metrics,
)
from fluffy_desktop.engine.evaluate.pervl import sample_shots

GALLERY = 12  # gallery images g0..g11; g0..g5 have captions, g6..g11 are distractors
POOL = 7  # shot-pool photos per concept


def e(*weights: tuple[int, float]) -> np.ndarray:
    """A vector in the gallery's one-hot basis: e((0, 0.6), (7, 0.8)) = 0.6·e0 + 0.8·e7."""
    vector = np.zeros(GALLERY, dtype=np.float32)
    for index, weight in weights:
        vector[index] = weight
    return vector


def solid(path: Path, red: int, size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (red, 128, 64)).save(path, quality=95)
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- a DeepFashion2-layout set whose scores are known ---------------------------------------
# (pair id, kind, shot vector, f_θ's word, the tuned word)
CONCEPTS = {
    "11": ("skirt", e((0, 1)), e((1, 1)), e((0, 0.8), (1, 0.6))),
    "12": ("trousers", e((3, 1)), e((2, 1)), e((2, 1), (3, 1))),
    "13": ("outwear", e((6, 1)), e((5, 1)), e((4, 1), (5, 1), (9, 1))),
}
# (gallery image, pair id, caption, the caption as the text baseline must fill it, its vector)
CAPTIONS = [
    (0, "11", "a person poses on a couch.", "a skirt poses on a couch.", e((0, 0.6), (7, 0.8))),
    (1, "11", "the person stands by a deck.", "the skirt stands by a deck.", e((1, 1))),
    (2, "12", "a person faces a door.", "a trousers faces a door.", e((2, 0.8), (3, 0.6))),
    (
        3,
        "12",
        "behind a person, another person sits.",
        "behind a trousers, another person sits.",
        e((2, 0.8), (3, 0.6)),
    ),
    (4, "13", "a person walks.", "an outwear walks.", e((8, 1))),
    (5, "13", "a person in the snow.", "an outwear in the snow.", e((5, 0.6), (4, 0.8))),
]
# Hand-computed ranks of each caption's own image (ties count against the method):
EXPECTED_RANKS = {
    "text": [2, 1, 1, 2, 12, 2],
    "avgim": [1, 12, 12, 1, 12, 12],
    "avgim_text": [1, 2, 2, 1, 12, 3],
    "palavra_init": [12, 1, 1, 12, 12, 1],
    "palavra_word": [1, 2, 2, 2, 3, 3],
    "palavra": [1, 2, 2, 1, 3, 3],  # the mean shot (e3) breaks the trousers word's tie
}
# ... and the metrics (percent) those ranks give, worked out by hand:
EXPECTED = {
    "text": {
        "mrr": 100 * (0.5 + 1 + 1 + 0.5 + 1 / 12 + 0.5) / 6,
        "r1": 100 * 2 / 6,
        "r5": 100 * 5 / 6,
        "r10": 100 * 5 / 6,
    },
    "avgim": {
        "mrr": 100 * (2 + 4 / 12) / 6,
        "r1": 100 * 2 / 6,
        "r5": 100 * 2 / 6,
        "r10": 100 * 2 / 6,
    },
    "avgim_text": {
        "mrr": 100 * (1 + 0.5 + 0.5 + 1 + 1 / 12 + 1 / 3) / 6,
        "r1": 100 * 2 / 6,
        "r5": 100 * 5 / 6,
        "r10": 100 * 5 / 6,
    },
    "palavra_init": {"mrr": 100 * (3 + 3 / 12) / 6, "r1": 50.0, "r5": 50.0, "r10": 50.0},
    "palavra_word": {
        "mrr": 100 * (1 + 3 * 0.5 + 2 / 3) / 6,
        "r1": 100 / 6,
        "r5": 100.0,
        "r10": 100.0,
    },
    "palavra": {
        "mrr": 100 * (2 + 2 * 0.5 + 2 / 3) / 6,
        "r1": 100 * 2 / 6,
        "r5": 100.0,
        "r10": 100.0,
    },
}


def gallery_red(index: int) -> int:
    return 10 + 8 * index


def pool_red(pair: str) -> int:
    return 200 + 15 * (int(pair) - 11)


def make_deepfashion(root: Path) -> tuple[Path, Path, Path]:
    """A prepared DF2 folder, its caption file and coarse-name file."""
    data = root / "personalized_test"
    for index in range(GALLERY):
        solid(data / "eval" / "test" / f"{100 + index:06d}.jpg", gallery_red(index))
    for pair in CONCEPTS:
        for shot in range(POOL):
            solid(data / "codes_infer" / pair / f"{int(pair) * 100 + shot:06d}.jpg", pool_red(pair))
    rows = [[f"train/image/{100 + g:06d}.jpg", pair, caption] for g, pair, caption, *_ in CAPTIONS]
    rows.append(["train/image/999999.jpg", "77", "a person of the other split."])
    captions = write_csv(root / "captions.csv", ["image_name", "pair_id", "caption"], rows)
    names = [[pair, kind] for pair, (kind, *_) in CONCEPTS.items()] + [["77", "vest"]]
    coarse = write_csv(root / "coarse.csv", ["unique_pair_ids", "pair_id_categories"], names)
    return data, captions, coarse


class FakeClip:
    """Stands in for the model: each image, text and word maps to a vector chosen above."""

    image_size = 16
    dim = word_width = GALLERY
    device = torch.device("cpu")

    def __init__(self, texts: dict[str, np.ndarray], images: dict[int, np.ndarray]):
        self.texts, self.images = texts, images
        self.prompts: list[str] = []

    def _unit(self, vectors) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)

    def encode_images(self, images) -> np.ndarray:
        def vector(image: Image.Image) -> np.ndarray:
            red = image.getpixel((image.width // 2, image.height // 2))[0]
            nearest = min(self.images, key=lambda key: abs(key - red))
            return self.images[nearest]

        return self._unit([vector(image) for image in images])

    def encode_texts(self, texts) -> np.ndarray:
        return self._unit([self.texts[text] for text in texts])

    def encode_prompts(self, prompts, words) -> torch.Tensor:
        self.prompts += list(prompts)
        return F.normalize(words.float(), dim=-1)


class FakeInverter:
    def __init__(self):
        self.words = {int(np.argmax(shot)): word for _, shot, word, _ in CONCEPTS.values()}

    def predict(self, shot_vectors: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.words[int(np.argmax(shot_vectors.mean(axis=0)))])


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """run_pervl on the DF2 set with the fake model; records what learn_concept was given."""
    data, captions, coarse = make_deepfashion(tmp_path)
    images = {gallery_red(i): e((i, 1)) for i in range(GALLERY)}
    images |= {pool_red(pair): shot for pair, (_, shot, _, _) in CONCEPTS.items()}
    clip = FakeClip({filled: vector for *_, filled, vector in CAPTIONS}, images)
    learned = []

    def fake_learn(clip, kind, shots, negatives, inverter, library, settings):
        init = inverter.predict(clip.encode_images(shots))
        learned.append((kind, len(shots), init.numpy().copy(), library))
        tuned = next(word for k, _, _, word in CONCEPTS.values() if k == kind)
        return torch.from_numpy(tuned), {}

    monkeypatch.setattr(pervl_module, "learn_concept", fake_learn)
    doc = run_pervl(clip, data, captions, coarse, inverter=FakeInverter())
    return doc, clip, learned


def test_metrics_equal_hand_computed_ranks(fake_run):
    doc, _, _ = fake_run
    assert doc["dataset"] == "deepfashion2"
    assert doc["queries"] == 6
    assert list(doc["methods"]) == list(METHODS)
    for method, expected in EXPECTED.items():
        assert doc["methods"][method] == pytest.approx(expected, abs=1e-3), method


def test_concepts_are_spoken_of_as_kind_and_word(fake_run):
    _, clip, learned = fake_run
    assert "a skirt * poses on a couch." in clip.prompts
    assert "behind a trousers * , another person sits." in clip.prompts
    assert "an outwear * walks." in clip.prompts
    assert [(kind, shots) for kind, shots, _, _ in learned] == [
        ("skirt", 5),
        ("trousers", 5),
        ("outwear", 5),
    ]
    np.testing.assert_array_equal(learned[0][2], CONCEPTS["11"][2])  # tuning starts from f_θ


def test_eval_learns_as_the_app_does_with_the_gallery_as_library(fake_run):
    """The same stage 2 as Album.learn: the gallery's average photo is the library contrast."""
    _, clip, learned = fake_run
    gallery = clip.encode_images(
        [Image.new("RGB", (4, 4), (gallery_red(i), 0, 0)) for i in range(GALLERY)]
    )
    for *_, library in learned:
        np.testing.assert_allclose(library, gallery.mean(axis=0), atol=1e-6)


def test_ranks_and_metrics_from_known_scores():
    scores = e((0, 1))[None]
    for method, expected_ranks in EXPECTED_RANKS.items():
        assert retrieval_metrics(np.array(expected_ranks)) == pytest.approx(
            EXPECTED[method], abs=1e-3
        )
    assert ranks(scores, np.array([0])).tolist() == [1]
    assert ranks(scores, np.array([1])).tolist() == [GALLERY]  # tied at 0 with ten others
    assert ranks(np.array([[0.2, 0.5, 0.5, 0.1]]), np.array([1])).tolist() == [2]


def test_identity_precision_counts_own_photos_among_the_best_scored():
    own = np.array([True, False, True, False])
    scores = np.array([0.9, 0.8, 0.8, 0.1])
    assert by_score(own, scores).tolist() == [True, False, True, False]
    assert identity_precision(own, scores) == 0.5
    assert identity_precision(own, np.array([0.1, 0.8, 0.0, 0.9])) == 0.0
    assert identity_precision(own, np.array([0.9, 0.2, 0.95, 0.0])) == 1.0


def test_table_names_units_and_starting_word(fake_run):
    doc, _, _ = fake_run
    table = format_table(doc)
    assert "6 queries" in table and "percent" in table
    assert "f_θ's word" in table
    assert f"{EXPECTED['avgim']['mrr']:.2f}" in table
    assert "1 caption rows had no image" in table


def test_shots_are_fixed_by_the_seed_and_drawn_from_the_pool():
    pool = [Path(f"/pool/{i}.jpg") for i in range(12)]
    picked = sample_shots(pool, 5, seed=5, concept="11")
    assert picked == sample_shots(list(reversed(pool)), 5, seed=5, concept="11")
    assert len(set(picked)) == 5 and set(picked) <= set(pool)
    assert picked != sample_shots(pool, 5, seed=6, concept="11")
    assert sample_shots(pool[:3], 5, seed=5, concept="11") == pool[:3]


def test_slots():
    assert slot_template("a person is near another person.", "deepfashion2") == (
        "a {} is near another person."
    )
    assert slot_template("*'s tail is up.", "ytvos") == "{}'s tail is up."
    assert slot_template("a dog with no slot.", "ytvos") is None


# --- YouTube-VOS layout --------------------------------------------------------------------
YTVOS_ROWS = [  # class id, kind, caption, filled text baseline, text vector
    ("cat_aa_1", "cat", "an * on a mat.", "a cat on a mat.", e((1, 1))),
    ("owl_bb_2", "owl", "a * in a tree.", "an owl in a tree.", e((1, 0.6), (0, 0.8))),
    ("fox_cc_1", "fox", "*'s tail is up.", "fox's tail is up.", e((2, 1))),
]


def make_ytvos(root: Path, size: int = 16) -> tuple[Path, Path]:
    data = root / "retrival_sets" / "test"
    rows = []
    for index, (class_id, kind, caption, *_) in enumerate(YTVOS_ROWS):
        solid(data / "eval" / "test" / f"{class_id}.jpg", gallery_red(index), size)
        for frame in range(4):
            solid(data / "codes_infer" / class_id / f"{frame:05d}.jpg", 200 + 15 * index, size)
        rows.append([f"eval/images/{class_id}_00015.jpg", kind, caption, class_id])
    header = ["image_name", "coarse_grained_class", "caption", "class_id"]
    return data, write_csv(root / "ytvos.csv", header, rows)


def test_ytvos_layout_and_text_ranks(tmp_path, monkeypatch):
    data, captions = make_ytvos(tmp_path)
    images = {gallery_red(i): e((i, 1)) for i in range(3)}
    images |= {200 + 15 * i: e((i, 1)) for i in range(3)}
    clip = FakeClip({filled: vector for *_, filled, vector in YTVOS_ROWS}, images)
    monkeypatch.setattr(
        pervl_module,
        "learn_concept",
        lambda clip, kind, shots, neg, inverter, library, s: (
            inverter.predict(clip.encode_images(shots)),
            {},
        ),
    )
    doc = run_pervl(clip, data, captions, inverter=FakeInverter3())
    assert doc["dataset"] == "ytvos" and doc["queries"] == 3 and doc["skipped"] == 0
    # text ranks: cat → g0 scores 0, tied with g2 → 3; owl → g1 0.6 after g0 0.8 → 2; fox → 1
    assert doc["methods"]["text"] == pytest.approx(
        {"mrr": 100 * (1 / 3 + 1 / 2 + 1) / 3, "r1": 100 / 3, "r5": 100.0, "r10": 100.0},
        abs=1e-3,
    )
    assert doc["methods"]["avgim"] == pytest.approx({"mrr": 100, "r1": 100, "r5": 100, "r10": 100})
    assert "a cat * on a mat." in clip.prompts and "fox * 's tail is up." in clip.prompts


class FakeInverter3:
    def predict(self, shot_vectors: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(shot_vectors.mean(axis=0))


def test_layout_errors_are_user_errors(tmp_path):
    data, captions, _ = make_deepfashion(tmp_path)
    with pytest.raises(FluffyError, match="--coarse"):
        load_pervl(data, captions, None)
    bad = write_csv(tmp_path / "bad.csv", ["file", "text"], [["a.jpg", "a dog"]])
    with pytest.raises(FluffyError, match="not a PerVL caption file"):
        load_pervl(data, bad, None)
    with pytest.raises(FluffyError, match="has no images"):
        load_pervl(tmp_path / "nowhere", captions, tmp_path / "coarse.csv")
    with pytest.raises(FluffyError, match="--shots"):
        run_pervl(FakeClip({}, {}), data, captions, tmp_path / "coarse.csv", shots=0)


# --- the real thing, on the tiny model ------------------------------------------------------
def test_mask_mode_scores_locate_on_the_masked_images(tiny_clip, tmp_path):
    data, captions = make_ytvos(tmp_path, size=40)
    masks = tmp_path / "masks"
    masks.mkdir()
    for class_id in ("cat_aa_1", "owl_bb_2"):  # the fox has no mask: it is left out
        mask = np.zeros((40, 40), dtype=np.uint8)
        mask[10:30, 10:30] = 255
        Image.fromarray(mask).save(masks / f"{class_id}.png")
    settings = LearnSettings(steps=2, augmentations=1)
    doc = run_pervl(tiny_clip, data, captions, shots=2, learn_settings=settings, masks=masks)
    assert doc["locate"]["images"] == 2 and 0 <= doc["locate"]["iou"] <= 100
    assert "locate: mean IoU" in format_table(doc)
    empty = tmp_path / "none"
    empty.mkdir()
    with pytest.raises(FluffyError, match=r"no mask in .* matches a gallery image"):
        run_pervl(tiny_clip, data, captions, shots=2, learn_settings=settings, masks=empty)
    with pytest.raises(FluffyError, match="is not a folder"):
        run_pervl(tiny_clip, data, captions, masks=tmp_path / "missing")


def test_end_to_end_on_the_tiny_model(tiny_clip, tmp_path):
    data, captions = make_ytvos(tmp_path, size=40)
    progress = []
    doc = run_pervl(
        tiny_clip,
        data,
        captions,
        shots=2,
        learn_settings=LearnSettings(steps=3, augmentations=1),
        progress=lambda stage, done, total: progress.append(stage),
    )
    assert doc["queries"] == 3 and doc["init"] == "kind word"
    assert list(doc["methods"]) == list(METHODS)
    for values in doc["methods"].values():
        assert 100 / 3 <= values["mrr"] <= 100  # three gallery images: rank 3 at worst
        assert values["r1"] <= values["r5"] == values["r10"] == 100
    assert "Learning the concepts" in progress and "Encoding the gallery" in progress
    df_data, df_captions, coarse = make_deepfashion(tmp_path / "df")
    df_doc = run_pervl(
        tiny_clip,
        df_data,
        df_captions,
        coarse,
        learn_settings=LearnSettings(steps=2, augmentations=0),
    )
    assert df_doc["dataset"] == "deepfashion2" and df_doc["queries"] == 6
