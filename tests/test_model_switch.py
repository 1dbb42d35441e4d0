"""Changing the model loses nothing: status and search say what is ready for the model in
use, `fluffy index` re-embeds the library, and concepts re-learn from their photos."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.errors import Cancelled
from fluffy_desktop.engine.ingest import index_library
from tests.photos import make_library
from tests.test_cli import as_json, user_error

PHOTOS = 12
QUICK = LearnSettings(steps=3, augmentations=0)


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    return make_library(tmp_path / "photos", PHOTOS)


@pytest.fixture
def other_env(tiny_env, other_tiny_spec) -> dict[str, str]:
    """The CLI's environment after the user picked the second model (same home)."""
    return {
        **tiny_env,
        "FLUFFY_MODEL": other_tiny_spec.arch,
        "FLUFFY_WEIGHTS": str(other_tiny_spec.weights),
    }


def index_and_learn(home: Path, spec, photos: list[Path]) -> None:
    """The library indexed and "Fluffy" learned from three photos, with the first model."""
    with Album(home, spec) as album:
        album.index([photos[0].parents[0].parent])
        album.learn("Fluffy", "cat", photos[:3], settings=QUICK)


def test_status_counts_what_is_ready_for_the_model_in_use(
    tmp_path, tiny_spec, other_tiny_spec, photos
):
    index_and_learn(tmp_path / "home", tiny_spec, photos)
    with Album(tmp_path / "home", other_tiny_spec) as album:
        status = album.status()
        assert (status["photos"], status["embedded"]) == (PHOTOS, 0)
        assert status["concept_states"] == {"Fluffy": "relearn"}
        similar = album.search(str(photos[0]))  # the old model's vector is never used
        assert similar == [] and "none of its 12 photos" in similar.notice
        album.index()
        assert (album.status()["photos"], album.status()["embedded"]) == (PHOTOS, PHOTOS)
    with Album(tmp_path / "home", tiny_spec) as album:  # back to the first model
        assert album.status()["embedded"] == 0
        assert album.status()["concept_states"] == {"Fluffy": "ready"}


def test_a_search_after_a_switch_says_why_it_finds_nothing(fluffy, tiny_env, other_env, photos):
    fluffy(tiny_env, "index", photos[0].parents[1])
    before = as_json(fluffy(tiny_env, "status", "--json"))
    assert (before["photos"], before["embedded"]) == (PHOTOS, PHOTOS)
    assert b"12 indexed" in fluffy(tiny_env, "status").stdout

    assert b"0 of 12 embedded" in fluffy(other_env, "status").stdout
    found = fluffy(other_env, "search", "a red photo", "--json")
    assert as_json(found)["results"] == []
    (line,) = found.stderr.decode().splitlines()
    assert "another model" in line and "fluffy index" in line
    human = fluffy(other_env, "search", "a red photo")
    assert human.stdout == b"" and human.stderr.decode().splitlines() == [line]

    assert b"re-embedded 12 photos" in fluffy(other_env, "index").stdout
    found = fluffy(other_env, "search", "a red photo", "--json")
    assert len(as_json(found)["results"]) == PHOTOS and found.stderr == b""
    assert b"12 indexed" in fluffy(other_env, "status").stdout


def test_search_during_re_embedding_shows_what_is_done_and_how_far(
    tmp_path, tiny_spec, other_tiny_spec, photos
):
    index_and_learn(tmp_path / "home", tiny_spec, photos)
    with Album(tmp_path / "home", other_tiny_spec) as album:
        stop = threading.Event()

        def stop_after_eight(stage: str, done: int, total: int) -> None:
            if stage == "Indexing photos" and done >= 8:
                stop.set()

        with pytest.raises(Cancelled):
            index_library(
                album.catalog, album.vector_index(), album.clip(), album.folders(),
                stop_after_eight, stop, batch_size=4, chunk=4,
            )  # fmt: skip
        hits = album.search("a photo", k=100)
        done = [p for p in photos if album.catalog.photo_by_path(p).status == "ok"]
        assert 0 < len(done) < PHOTOS
        assert sorted(hit.path for hit in hits) == sorted(done)
        assert f"{len(done)} of {PHOTOS} photos" in hits.notice
        album.index()
        hits = album.search("a photo", k=100)
        assert len(hits) == PHOTOS and hits.notice is None


def test_concepts_relearn_for_the_new_model_and_switching_back_reuses_the_old_files(
    fluffy, tiny_env, other_env, tiny_spec, photos
):
    home = Path(tiny_env["FLUFFY_HOME"])
    index_and_learn(home, tiny_spec, photos)
    first = as_json(fluffy(tiny_env, "search", "Fluffy on the sofa", "--json"))
    fluffy(other_env, "index")
    line = user_error(fluffy(other_env, "search", "Fluffy on the sofa", check=False))
    assert "learned with another model" in line and "fluffy concepts relearn Fluffy" in line

    (report,) = as_json(fluffy(other_env, "concepts", "relearn", "--json"))
    assert report["name"] == "Fluffy" and report["state"] == "relearned"
    assert (report["photos"], report["moved"], report["missing"]) == (3, 0, 0)
    assert as_json(fluffy(other_env, "search", "Fluffy on the sofa", "--json"))["results"]
    assert as_json(fluffy(other_env, "status", "--json"))["concept_states"] == {"Fluffy": "ready"}
    assert len(list((home / "concepts").rglob("*.safetensors"))) == 2  # one file per model

    fluffy(tiny_env, "index")  # back to the first model: its concept file is used as it was
    assert as_json(fluffy(tiny_env, "search", "Fluffy on the sofa", "--json")) == first
    (again,) = as_json(fluffy(tiny_env, "concepts", "relearn", "--json"))
    assert again["state"] == "reused"
    assert b"Fluffy: uses the copy learned with this model before" in (
        fluffy(other_env, "concepts", "relearn", "Fluffy").stdout
    )
    assert as_json(fluffy(tiny_env, "search", "Fluffy on the sofa", "--json")) == first


def test_a_moved_example_photo_is_found_again_by_its_content(
    tmp_path, tiny_spec, other_tiny_spec, photos
):
    home = tmp_path / "home"
    index_and_learn(home, tiny_spec, photos)
    moved = photos[1].parent / "renamed" / "fluffy-on-the-sofa.jpg"
    moved.parent.mkdir()
    photos[1].rename(moved)
    with Album(home, other_tiny_spec) as album:
        album.index()
        (report,) = album.relearn()
        assert (report.state, report.photos, report.moved, report.missing) == (
            "relearned", 3, 1, 0
        )  # fmt: skip
        assert "1 found again after a move" in report.summary()
        relearned = album.concepts.get("Fluffy")
        assert [Path(r["path"]) for r in relearned.photos] == [photos[0], moved, photos[2]]
        assert album.search("Fluffy on the sofa", 3)
    with Album(home, tiny_spec) as album:  # back: the first model's copy, with the new path
        (report,) = album.relearn()
        assert report.state == "reused"
        paths = [Path(r["path"]) for r in album.concepts.get("Fluffy").photos]
        assert paths == [photos[0], moved, photos[2]]


def test_a_concept_whose_photos_are_all_gone_is_kept_and_explained(
    fluffy, tiny_env, other_env, tmp_path, photos
):
    fluffy(tiny_env, "index", photos[0].parents[1])
    elsewhere = make_library(tmp_path / "phone", 2, start=50)
    fluffy(tiny_env, "learn", "Rex", "--kind", "dog", *elsewhere)
    fluffy(tiny_env, "learn", "Fluffy", "--kind", "cat", *photos[:2])
    for photo in elsewhere:
        photo.unlink()
    concepts = Path(tiny_env["FLUFFY_HOME"]) / "concepts"
    files = {p: p.read_bytes() for p in concepts.rglob("*.safetensors")}

    status = fluffy(other_env, "status")
    assert b"0 of 2 ready for this model; to re-learn: Fluffy; needs photos: Rex" in status.stdout
    result = fluffy(other_env, "concepts", "relearn")
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("Fluffy: re-learned from 2 photos")
    assert lines[1].startswith("Rex: needs photos: none of its 2 photos can be found")
    rex = concepts / next(p.name for p in files if p.name.startswith("rex-"))
    assert rex.read_bytes() == files[rex]  # kept as it was
    assert as_json(fluffy(other_env, "concepts", "list", "--json"))[1]["name"] == "Rex"
    states = as_json(fluffy(other_env, "status", "--json"))["concept_states"]
    assert states == {"Fluffy": "ready", "Rex": "needs photos"}


def test_a_name_that_is_an_ordinary_word_warns_and_leaves_the_word_alone(
    fluffy, tiny_env, other_env, photos
):
    fluffy(tiny_env, "index", photos[0].parents[1])
    learned = fluffy(tiny_env, "learn", "Cat", "--kind", "cat", *photos[:2], "--json")
    (note,) = [line for line in learned.stderr.decode().splitlines() if "note:" in line]
    assert "'Cat' is also an ordinary word" in note and "@Cat or [Cat]" in note
    assert as_json(learned)["name"] == "Cat"
    other = fluffy(tiny_env, "learn", "Mr Whiskers", "--kind", "cat", photos[2])
    assert b"note:" not in other.stderr

    fluffy(other_env, "index")  # Cat is not re-learned for this model yet
    word = as_json(fluffy(other_env, "search", "a photo of a cat", "--json"))
    assert len(word["results"]) == PHOTOS
    line = user_error(fluffy(other_env, "search", "Cat on the sofa", check=False))
    assert "fluffy concepts relearn Cat" in line
    line = user_error(fluffy(other_env, "search", "@cat on the sofa", check=False))
    assert "fluffy concepts relearn Cat" in line
