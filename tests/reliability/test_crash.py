"""kill -9 in the middle of indexing and of learning, then a rerun: nothing lost, nothing
duplicated, catalog and index agree, no half-written concept. Each kill comes at a chosen
point of a real CLI run (stopped there until killed), and each test asserts that the point was
mid-write: some photos committed and not all, or a concept's temporary file on disk."""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.concepts.store import ConceptStore, slug
from fluffy_desktop.engine.errors import UnknownConcept
from fluffy_desktop.engine.ingest import index_library
from fluffy_desktop.engine.vectors import VectorIndex
from tests.photos import make_library
from tests.reliability.support import (
    Pause,
    assert_consistent,
    env_for,
    fluffy,
    kill_at,
    ok_json,
)
from tests.test_concepts_store import make_concept

pytestmark = pytest.mark.reliability

PHOTOS = 300  # more than one commit chunk (256)


def vectors_by_path(catalog: Catalog) -> dict[Path, np.ndarray]:
    ids, vectors = catalog.all_vectors()
    paths = {i: photo.path for i, photo in catalog.photos_for(ids.tolist()).items()}
    return {paths[i]: v for i, v in zip(ids.tolist(), vectors, strict=True)}


# Each kill comes while some photos are committed and some are not (one chunk is 256).
INDEX_KILLS = (
    # the first chunk is in the catalog, not yet in the index
    Pause("fluffy_desktop.engine.catalog:Catalog", "store", when="after"),
    # the rerun: the other photos decoded, none embedded
    Pause("fluffy_desktop.engine.clip:ClipModel", "encode_image_batch"),
    # the rerun: the other photos embedded, not committed
    Pause("fluffy_desktop.engine.catalog:Catalog", "store"),
)


def test_kill_during_indexing_then_rerun(tiny_env, tmp_path):
    library = tmp_path / "photos"
    make_library(library, PHOTOS)
    reference = tmp_path / "reference"
    ok_json(fluffy(env_for(tiny_env, reference), "index", library, "--json"))
    expected = vectors_by_path(assert_consistent(reference, library))

    home = tmp_path / "home"
    env = env_for(tiny_env, home)
    for pause in INDEX_KILLS:
        kill_at(env, pause, ["index", library, "--json"], tmp_path / "paused")
        catalog = Catalog(home / "catalog.sqlite")  # committed photos are whole
        assert 0 < catalog.count("ok") < PHOTOS, f"the kill at {pause} was not mid-write"
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


def test_kill_while_re_embedding_for_a_new_model_then_rerun(tiny_env, other_tiny_spec, tmp_path):
    """The user switched models: the kill comes once the first chunk is re-embedded. Search
    then shows those photos and says how far re-embedding got; a rerun finishes the rest."""
    library = tmp_path / "photos"
    make_library(library, PHOTOS)
    other = {**tiny_env, "FLUFFY_MODEL": other_tiny_spec.arch}
    other["FLUFFY_WEIGHTS"] = str(other_tiny_spec.weights)
    ok_json(fluffy(env_for(other, tmp_path / "reference"), "index", library, "--json"))
    expected = vectors_by_path(assert_consistent(tmp_path / "reference", library))
    home = tmp_path / "home"
    ok_json(fluffy(env_for(tiny_env, home), "index", library, "--json"))

    env = env_for(other, home)
    kill_at(env, INDEX_KILLS[0], ["index", "--json"], tmp_path / "paused")
    catalog = Catalog(home / "catalog.sqlite")
    done = catalog.count("ok")
    assert 0 < done < PHOTOS, "the kill was not mid-write"
    assert catalog.count("pending") == PHOTOS - done
    catalog.close()
    found = fluffy(env, "search", "a photo", "-k", "1000", "--json")
    assert len(ok_json(found)["results"]) == done
    assert f"{done:,} of {PHOTOS:,} photos done so far" in found.stderr.decode()

    report = ok_json(fluffy(env, "index", "--json"))
    assert (report["updated"], report["unchanged"], report["failed"]) == (PHOTOS - done, done, [])
    vectors = vectors_by_path(assert_consistent(home, library))
    assert vectors.keys() == expected.keys()
    for path, vector in vectors.items():  # every photo embedded by the new model, once
        np.testing.assert_allclose(vector, expected[path], atol=1e-5)


def concept_files(home: Path) -> dict[str, bytes]:
    """The concept files of a home (temporary files aside), by name."""
    return {p.name: p.read_bytes() for p in (home / "concepts").glob("*.safetensors")}


def temporary_files(home: Path) -> set[str]:
    return {p.name for p in (home / "concepts").glob(".*.tmp")}


def test_kill_while_a_concept_is_written_then_rerun(tiny_env, tiny_spec, tmp_path):
    """Each kill comes while a concept's temporary file is on disk: a new concept written but
    not synced, then Rex re-learned, synced but not yet swapped in for the old Rex."""
    photos = make_library(tmp_path / "photos", 6)
    home = tmp_path / "home"
    env = env_for(tiny_env, home)
    ok_json(fluffy(env, "learn", "Rex", "--kind", "dog", *photos[:3], "--json"))
    rex = concept_files(home)
    fluffy_learns = ["learn", "Fluffy", "--kind", "cat", *photos[:5]]
    kills = (
        (Pause("os", "fsync", nth=2), fluffy_learns),  # the first is the views cache's
        (Pause("os", "replace", match="concepts"), ["learn", "Rex", "--kind", "cat", *photos]),
    )
    for pause, args in kills:
        before = temporary_files(home)
        kill_at(env, pause, args, tmp_path / "paused")
        assert len(temporary_files(home) - before) == 1, f"the kill at {pause} was not mid-write"
        assert ConceptStore(home / "concepts").names() == ["Rex"]
        assert concept_files(home) == rex  # the other concept is untouched, Rex is the old one
    ok_json(fluffy(env, *fluffy_learns, "--json"))
    with Album(home, tiny_spec) as album:
        assert album.concepts.names() == ["Fluffy", "Rex"]
        assert album.concepts.get("Rex").kind == "dog"
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


class DiesAt:
    """The process dies at the `step`-th change to a file in `folder` (a replace, rename,
    link or delete): that change and every later one never happen, as under kill -9."""

    def __init__(self, monkeypatch, folder: Path, step: int):
        self.folder, self.step, self.seen = folder, step, 0
        for name in ("replace", "rename", "link", "unlink", "remove"):
            monkeypatch.setattr(os, name, self._dying(getattr(os, name)))

    def _dying(self, real):
        def change(*args, **options):
            if any(isinstance(a, str | Path) and Path(a).parent == self.folder for a in args[:2]):
                self.seen += 1
                if self.seen >= self.step:
                    raise Killed
            return real(*args, **options)

        return change


def test_a_crash_at_any_step_of_a_rename_leaves_exactly_one_whole_copy(tmp_path, monkeypatch):
    """Rename dies at its first file change, then at its second, and so on until one run
    completes: after each death there is one file per concept, never two, never none."""
    for step in itertools.count(1):
        folder = tmp_path / f"dies-at-{step}"
        ConceptStore(folder).save(make_concept("Fluffy"))
        ConceptStore(folder).save(make_concept("Rex"))
        rex = {p.name: p.read_bytes() for p in folder.glob("rex-*")}
        with monkeypatch.context() as patched:
            dying = DiesAt(patched, folder, step)
            with contextlib.suppress(Killed):
                ConceptStore(folder).rename("fluffy", "Mister Fluffy")
        died = dying.seen >= step
        assert len(list(folder.glob("*.safetensors"))) == 2, f"died at change {step}"
        assert {p.name: p.read_bytes() for p in folder.glob("rex-*")} == rex
        store = ConceptStore(folder)  # the next run
        names = store.names()
        assert names in (["Fluffy", "Rex"], ["Mister Fluffy", "Rex"]), step
        assert {p.stem for p in folder.glob("*.safetensors")} == {slug(n) for n in names}
        concept, gone = store.get(names[0]), {"Fluffy", "Mister Fluffy"} - {names[0]}
        assert torch.equal(concept.word, make_concept("Fluffy").word)
        assert (concept.kind, concept.photos) == ("cat", make_concept("Fluffy").photos)
        with pytest.raises(UnknownConcept):
            store.get(gone.pop())
        if not died:
            assert names[0] == "Mister Fluffy"
            break
        store.rename(names[0], "Mister Fluffy")  # a rerun finishes the job
        assert store.names() == ["Mister Fluffy", "Rex"]
    assert step > 2, "the rename was never cut between two of its changes"
