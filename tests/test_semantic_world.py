"""The semantic test tier: search quality on the world model, through the app's own path.

`fluffy eval world --json` runs once (seed 0, fresh home, no inverter: learning starts from the
kind word). Measured there: palavra (the app: the word and the examples' photo) MRR 95.8, the
word alone (palavra_word) 94.8, avgim_text 92.9, the kind word (palavra_init) 33.4; identity
precision 87.5 for the app, 85.4 for the word alone, 16.7 for "a cat". The thresholds sit
several points below those figures and far above what a word that learned nothing gives.
One more test replays one concept's review on seed 14, where answers once emptied its album.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from fluffy_desktop.cli import main
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.evaluate.world.run import learn_all, prepared
from fluffy_desktop.engine.evaluate.world.tagging import (
    add_album_set,
    album_counts,
    album_of,
    review_from_truth,
    scores,
)
from fluffy_desktop.engine.tasks import no_progress

pytestmark = pytest.mark.semantic
PALAVRA_MRR = 85.0  # percent
IDENTITY = 70.0  # percent of the top six that show the individual


@pytest.fixture(scope="module")
def world_doc(tmp_path_factory) -> dict:
    """`fluffy eval world --json`, run in-process in a fresh home."""
    home = tmp_path_factory.mktemp("world-home")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--home", str(home), "--device", "cpu", "eval", "world", "--json"])
    assert code == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def ceiling_doc(tmp_path_factory) -> dict:
    """`fluffy eval world --ceiling --json` (seed 0), run in-process in a fresh home."""
    home = tmp_path_factory.mktemp("ceiling-home")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["--home", str(home), "--device", "cpu", "eval", "world", "--ceiling", "--json"]
        )
    assert code == 0
    return json.loads(out.getvalue())


def test_the_document_has_the_eval_shape(world_doc):
    assert world_doc["dataset"] == "world" and world_doc["queries"] == 48
    assert set(world_doc["methods"]) == {
        "text",
        "avgim",
        "avgim_text",
        "palavra_init",
        "palavra_word",
        "palavra",
    }
    for values in world_doc["methods"].values():
        assert set(values) == {"mrr", "r1", "r5", "r10"}
    assert world_doc["init"] == "kind word"


def test_a_learned_word_finds_its_individual_in_context(world_doc):
    """The word alone must do the work (the examples' photo only helps it along)."""
    methods = world_doc["methods"]
    assert methods["palavra"]["mrr"] >= PALAVRA_MRR
    assert methods["palavra"]["mrr"] >= methods["avgim_text"]["mrr"]
    assert methods["palavra"]["mrr"] >= methods["palavra_word"]["mrr"]
    assert methods["palavra_word"]["mrr"] >= PALAVRA_MRR
    assert methods["palavra_word"]["mrr"] >= methods["palavra_init"]["mrr"] + 30


def test_the_name_alone_finds_the_individuals_photos(world_doc):
    assert world_doc["identity_precision"]["palavra"] >= IDENTITY
    assert world_doc["identity_precision"]["palavra_word"] >= IDENTITY
    assert world_doc["identity_precision"]["text"] < IDENTITY - 30


def test_the_model_alone_names_kinds_and_colours_well_above_chance(world_doc):
    """Measured on seed 0: kind 86.0 % (chance 12.5), colour 71.5 % (chance 9.1), on the 186
    one-thing photos of combinations the model never saw: the ceiling of every figure above."""
    seen = world_doc["zero_shot"]
    assert seen["photos"] > 150
    assert seen["kind"] >= 55
    assert seen["colour"] >= 50


def test_albums_match_the_truth_and_answers_do_not_make_them_worse(world_doc):
    """Measured on seed 0, over the 660 photos of the gallery and the album set: F1 80.4 after
    learning, 88.0 on the unanswered photos after 20 answers, where the first albums had 87.3
    (pooled over the eight individuals); 85.0 and 90.0 at each concept's best threshold; the
    albums' own F1s average 80.5 and 87.6; no album worse after the answers (one, before the
    answers moved the album only clearly). Scored by the whole photo alone (before the best
    quarter joined it) the same read 76.8 and 84.9 (README, "Tagging")."""
    tagging = world_doc["tagging"]
    assert tagging["photos"] == 660
    assert tagging["learned"]["f1"] >= 78
    assert tagging["reviewed"]["f1"] >= 85
    assert tagging["reviewed"]["f1"] >= tagging["learned"]["f1"]
    assert tagging["reviewed"]["f1"] >= tagging["before_answers"]["f1"]
    for stage in ("learned", "reviewed"):
        assert tagging["best_threshold"][stage]["f1"] >= tagging[stage]["f1"]
    mean = tagging["album_f1_mean"]
    assert mean["reviewed"] >= mean["learned"] >= 60
    assert tagging["albums"] == 8 and tagging["albums_worse"] <= 1


def test_the_album_cut_holds_when_the_concept_is_a_large_share_of_the_library(world_doc):
    """Measured on seed 0: F1 86.4 / 88.1 / 87.6 after learning when each individual is 10 /
    20 / 35 % of the library (80.4 at the world's 4 %): a cut fitted to a rare concept, such
    as the library's 90th percentile, fell to 62 and 57 at 20 and 35 % (README, "Tagging")."""
    shares = world_doc["tagging"]["by_library_share"]
    assert list(shares) == ["10", "20", "35"]
    for values in shares.values():
        assert values["f1"] >= 80


def test_locate_outlines_the_individuals_and_rarely_finds_them_elsewhere(world_doc):
    """Measured on seed 0: mean IoU 76.8, found on 100 % of their photos, wrongly found on
    2.3 % of the others (the issue's targets: IoU ≥ 60, wrongly found ≤ 10 %)."""
    located = world_doc["locate"]
    assert located["iou"] >= 60
    assert located["found"] >= 90
    assert located["false_found"] <= 10


def test_regions_find_small_things_and_keep_the_usual_ranking(world_doc):
    """Measured on seed 0: R@10 on the small things 66.7 from whole photos, 87.5 with regions
    (+31 %; over seeds 0–2, +30 %); on the usual gallery MRR 95.8 → 94.8 and R@10 100 either
    way."""
    usual, small = world_doc["regions"]["usual"], world_doc["regions"]["small"]
    assert small["regions"]["r10"] >= small["whole"]["r10"] + 5
    assert usual["regions"]["mrr"] >= usual["whole"]["mrr"] - 5
    assert usual["regions"]["r10"] >= usual["whole"]["r10"]


def test_a_word_fitted_with_the_truth_on_other_photos_finds_the_individual(world_doc, ceiling_doc):
    """Measured on seed 0, on the gallery: identity@6 83.3 for a word fitted on the album
    set's photos with the truth, 87.5 for the app's query from five shots (as in `eval world`),
    81.2 for a probe on the photos, 87.5 for the mean shot."""
    methods = ceiling_doc["methods"]
    app_word = methods["app_word"]["identity"]
    assert app_word == world_doc["identity_precision"]["palavra"]
    assert methods["fitted_word"]["identity"] >= IDENTITY
    assert methods["mean_shot"]["identity"] == world_doc["identity_precision"]["avgim"]
    for method in methods.values():
        assert 0 < method["f1"] <= 100


def test_a_round_of_no_answers_does_not_pull_the_word_off_its_examples():
    """Seed 14, individual 1: with the "no" answers at full weight however many there were,
    its first round (2 "yes", 8 "no") sank its own photos among the look-alikes, and its
    album fell from F1 87.5 to 64.0 on the photos not asked about (README, "Tagging")."""
    seed, number = 14, 1
    with prepared(seed, None, None, no_progress) as setup:
        learn_all(setup, LearnSettings(), no_progress)
        owners = add_album_set(setup, seed, no_progress)
        before = album_of(setup, number)
        answered = review_from_truth(setup, owners, number)
        after = album_of(setup, number)
    first = scores(album_counts(before, owners, number, answered))["f1"]
    assert scores(album_counts(after, owners, number, answered))["f1"] >= first - 5
