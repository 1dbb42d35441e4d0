"""kill -9 in the middle of indexing and of learning, then a rerun: nothing lost, nothing
duplicated, catalog and index agree, no half-written concept. Kill times are drawn from
seeded generators, as fractions of a measured complete run."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.concepts.store import ConceptStore
from fluffy_desktop.engine.ingest import index_library
from fluffy_desktop.engine.vectors import VectorIndex
from tests.photos import make_library
from tests.reliability.support import (
    assert_consistent,
    env_for,
    fluffy,
    killed_run,
    ok_json,
    timed,
)

pytestmark = pytest.mark.reliability

PHOTOS = 300  # more than one commit chunk (256)
KILL_SEEDS = (1, 2, 3)


def vectors_by_path(catalog: Catalog) -> dict[Path, np.ndarray]:
    ids, vectors = catalog.all_vectors()
    paths = {i: photo.path for i, photo in catalog.photos_for(ids.tolist()).items()}
    return {paths[i]: v for i, v in zip(ids.tolist(), vectors, strict=True)}


def test_kill_during_indexing_then_rerun(tiny_env, tmp_path):
    library = tmp_path / "photos"
    make_library(library, PHOTOS)
    reference = tmp_path / "reference"
    full = timed(env_for(tiny_env, reference), "index", library, "--json")
    expected = vectors_by_path(assert_consistent(reference, library))

    home = tmp_path / "home"
    env = env_for(tiny_env, home)
    for seed in KILL_SEEDS:
        after = random.Random(seed).uniform(0.25, 1.0) * full
        killed_run(env, ["index", library, "--json"], after)
        if (home / "catalog.sqlite").exists():
            catalog = Catalog(home / "catalog.sqlite")  # committed photos are whole
            assert set(catalog.vector_ids().tolist()) == {
                r.id for r in catalog.photos_under(catalog.roots()) if r.status == "ok"
            }
            catalog.close()
    report = ok_json(fluffy(env, "index", library, "--json"))
    assert report["failed"] == [] and report["total"] == PHOTOS
    assert report["added"] + report["unchanged"] + report["updated"] == PHOTOS
    found = vectors_by_path(assert_consistent(home, library))
    assert found.keys() == expected.keys()
    for path, vector in found.items():  # every vector belongs to its own photo
        np.testing.assert_allclose(vector, expected[path], atol=1e-5)


def concept_files(home: Path) -> dict[str, bytes]:
    folder = home / "concepts"
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}


def test_kill_during_learning_then_rerun(tiny_env, tiny_spec, tmp_path):
    photos = make_library(tmp_path / "photos", 6)
    home = tmp_path / "home"
    env = env_for(tiny_env, home)
    full = timed(env, "learn", "Rex", "--kind", "dog", *photos[:3], "--json")
    rex = {k: v for k, v in concept_files(home).items() if k.startswith("rex")}
    for seed in KILL_SEEDS:
        after = random.Random(seed).uniform(0.3, 1.0) * full
        killed_run(env, ["learn", "Fluffy", "--kind", "cat", *photos[:5], "--json"], after)
        store = ConceptStore(home / "concepts")
        assert set(store.names()) <= {"Rex", "Fluffy"} and "Rex" in store.names()
        if "Fluffy" in store.names():  # a concept that is listed is whole
            fluffy_concept = store.get("Fluffy")
            assert fluffy_concept.kind == "cat" and len(fluffy_concept.photos) == 5
        current = concept_files(home)
        assert {k: current[k] for k in rex} == rex  # the other concept is untouched
    ok_json(fluffy(env, "learn", "Fluffy", "--kind", "cat", *photos[:5], "--json"))
    with Album(home, tiny_spec) as album:
        assert album.concepts.names() == ["Fluffy", "Rex"]
        album.index([tmp_path / "photos"])
        assert album.search("Fluffy on the sofa", 3)


class Killed(BaseException):
    """Stands for the process dying at this exact point (nothing after it runs)."""


def test_crash_between_commits_loses_at_most_the_chunk_in_flight(tiny_clip, tmp_path):
    library = tmp_path / "photos"
    make_library(library, 35)
    home = tmp_path / "home"
    catalog = Catalog(home / "catalog.sqlite")
    catalog.add_root(library)
    index = VectorIndex.open(home / "index", tiny_clip.dim, tiny_clip.identity, catalog)
    real_store, calls = catalog.store, []

    def store_then_die(updates):
        calls.append(len(updates))
        if len(calls) == 3:
            raise Killed
        return real_store(updates)

    catalog.store = store_then_die
    with pytest.raises(Killed):
        index_library(catalog, index, tiny_clip, [library], batch_size=4, chunk=10)
    catalog.close()  # the index is not saved after the last commit: it must catch up
    reopened = Catalog(home / "catalog.sqlite")
    assert reopened.count("ok") == 20  # two whole chunks survive, the third is lost
    index = VectorIndex.open(home / "index", tiny_clip.dim, tiny_clip.identity, reopened)
    assert set(index.ids().tolist()) == set(reopened.vector_ids().tolist())
    report = index_library(reopened, index, tiny_clip, [library], batch_size=4, chunk=10)
    assert (report.added, report.unchanged) == (15, 20)
    reopened.close()
    assert_consistent(home, library)


def test_crash_while_replacing_a_concept_leaves_the_old_one_whole(tiny_spec, tmp_path, monkeypatch):
    """Re-learning a concept dies just before its file is swapped in (the new bytes are on
    disk beside it): the old concept must still load, word, kind and photos together."""
    photos = make_library(tmp_path / "photos", 8)
    settings = LearnSettings(steps=2, augmentations=0)
    cat, dog = ("cat", photos[:3]), ("dog", photos[3:8])
    with Album(tmp_path / "reference", tiny_spec) as album:
        words = {}
        for kind, shots in (cat, dog):
            album.learn(kind, kind, shots, settings=settings)
            words[kind] = album.concepts.get(kind).word
    with Album(tmp_path / "home", tiny_spec) as album:
        album.learn("Fluffy", *cat, settings=settings)
        torch.testing.assert_close(album.concepts.get("Fluffy").word, words["cat"])
        real_replace = os.replace

        def die_before_a_concept_lands(source, target):
            if Path(target).parent == album.home.concepts_dir:
                raise Killed
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", die_before_a_concept_lands)
        with pytest.raises(Killed):
            album.learn("Fluffy", *dog, settings=settings)
    monkeypatch.undo()
    store = ConceptStore(tmp_path / "home" / "concepts")
    concept = store.get("Fluffy")
    assert (concept.kind, len(concept.photos), store.names()) == ("cat", 3, ["Fluffy"])
    torch.testing.assert_close(concept.word, words["cat"])
