"""Indexing a library: everything indexable is indexed, the rest is reported or skipped,
re-runs are incremental, and a kill or a cancel never leaves catalog and index disagreeing."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.engine import ingest, regions_pass
from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.errors import Cancelled
from fluffy_desktop.engine.images import DecodeFailure, decode_photo
from fluffy_desktop.engine.ingest import IndexReport, index_library
from fluffy_desktop.engine.regions import decode_side, region_crops
from fluffy_desktop.engine.vectors import VectorIndex
from tests.photos import (
    HOSTILE_REASONS,
    make_hostile_files,
    make_library,
    make_odd_images,
    make_skipped_files,
    tree_digest,
    write_photo,
)
from tests.tinymodel import write_tiny_model

REPO = Path(__file__).resolve().parents[1]


class Store:
    """A home's catalog and index, as the album keeps them."""

    def __init__(self, home: Path, clip: ClipModel):
        self.home, self.clip = home, clip
        self.catalog = Catalog(home / "catalog.sqlite")
        self.index = VectorIndex.open(home / "index", clip.dim, clip.identity, self.catalog)

    def run(self, *roots: Path, **options) -> IndexReport:
        return index_library(self.catalog, self.index, self.clip, roots, **options)

    def reopen(self, clip: ClipModel | None = None) -> Store:
        self.catalog.close()
        return Store(self.home, clip or self.clip)

    def check_consistent(self, paths: list[Path]) -> None:
        """Exactly these photos are indexed, each under one id, with its own embedding."""
        records = [self.catalog.photo_by_path(p) for p in paths]
        assert all(r is not None and r.status == "ok" for r in records), paths
        ids = [r.id for r in records]
        assert self.catalog.count("ok") == len(paths) == len(set(ids))
        assert sorted(self.index.ids()) == sorted(self.catalog.vector_ids()) == sorted(ids)
        stored = self.catalog.vectors_for(ids)
        images = [decode_photo(p, self.clip.image_size).image for p in paths]
        np.testing.assert_allclose(stored, self.clip.encode_images(images), atol=1e-4)
        regions = self.catalog.regions_for(ids, self.clip.dim)
        side = self.clip.image_size
        for photo_id, path in zip(ids, paths, strict=True):
            crops = self.clip.encode_images(
                region_crops(decode_photo(path, decode_side(side)).image, side)
            )
            np.testing.assert_allclose(regions[photo_id], crops, atol=2e-3)  # stored as float16
        for photo_id, vector in zip(ids, stored, strict=True):  # (some odd images look alike)
            assert dict(self.index.search(vector, 5))[photo_id] == pytest.approx(1.0, abs=1e-5)


@pytest.fixture
def store(tmp_path, tiny_clip) -> Store:
    return Store(tmp_path / "home", tiny_clip)


@pytest.fixture
def spy_decode(monkeypatch) -> list[Path]:
    """Paths decoded by ingest from now on."""
    seen: list[Path] = []

    def spy(path: Path, min_side: int = 224):
        seen.append(path)
        return decode_photo(path, min_side)

    monkeypatch.setattr(ingest, "decode_photo", spy)
    return seen


@pytest.fixture(scope="module")
def other_clip(tmp_path_factory) -> ClipModel:
    config, weights = write_tiny_model(tmp_path_factory.mktemp("other-model"), seed=1)
    spec = ModelSpec(arch=str(config), pretrained=None, weights=weights, device="cpu")
    return ClipModel.load(spec, tmp_path_factory.mktemp("other-cache"))


@pytest.mark.reliability
def test_a_whole_library_is_indexed_and_left_untouched(tmp_path, store):
    lib = tmp_path / "lib"
    photos = make_library(lib, 9)
    odd = make_odd_images(lib / "odd" / "deeper")
    hostile = make_hostile_files(lib / "hostile")
    skipped = make_skipped_files(lib / "skip")
    mangled = Path(os.fsdecode(os.fsencode(lib) + b"/\xff mangled.jpg"))
    mangled.write_text("not a photo")
    before = tree_digest(lib)

    report = store.run(lib, batch_size=4, chunk=8)

    indexable = sorted([*photos, *odd.values(), hostile["inside"]])
    store.check_consistent(indexable)
    expected_failures = {hostile[name]: reason for name, reason in HOSTILE_REASONS.items()}
    assert dict(report.failed) == expected_failures | {mangled: "not an image"}
    assert all(store.catalog.photo_by_path(p) is None for p in skipped)
    assert (report.added, report.updated, report.removed) == (len(indexable), 0, 0)
    assert report.total == len(indexable) + len(expected_failures) + 1
    assert tree_digest(lib) == before, "photo folders must stay byte-identical"

    document = json.loads(json.dumps(report.to_json()))
    keys = {"added", "updated", "removed", "unchanged", "failed", "total", "seconds"}
    assert set(document) == keys
    assert {"path": str(mangled), "error": "not an image"} in document["failed"]
    assert os.fsencode(str(mangled)).endswith(b"/\xff mangled.jpg")


def test_unchanged_reindex_is_a_fast_no_op(tmp_path, store, monkeypatch):
    lib = tmp_path / "lib"
    make_library(lib, 6)
    (lib / "broken.jpg").write_bytes(b"garbage")
    first = store.run(lib)
    saved = (store.home / "index" / "index.json").stat().st_mtime_ns

    def forbidden(*args, **kwargs):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(ingest, "decode_photo", forbidden)
    monkeypatch.setattr(ingest, "content_digest", forbidden)
    again = store.run(lib)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 6)
    assert again.failed == first.failed == [(lib / "broken.jpg", "not an image")]
    assert (store.home / "index" / "index.json").stat().st_mtime_ns == saved


def test_regions_come_after_the_photos_and_a_stopped_pass_is_finished_next_time(
    tmp_path, store, monkeypatch
):
    lib = tmp_path / "lib"
    photos = make_library(lib, 20)
    cancel = threading.Event()

    def watch(stage: str, done: int, total: int) -> None:
        if stage == regions_pass.STAGE and done >= regions_pass.BATCH:
            cancel.set()

    with pytest.raises(Cancelled):
        store.run(lib, progress=watch, cancel=cancel)
    assert store.catalog.count("ok") == 20  # every photo is searchable already
    left = store.catalog.photos_without_regions()
    assert 0 < len(left) < 20
    monkeypatch.setattr(regions_pass, "PAGE", 3)  # the catalog read a few rows at a time
    again = store.run(lib)
    assert (again.added, again.unchanged, again.regions) == (0, 20, len(left))
    store.check_consistent(photos)  # regions included


def test_a_photo_unreadable_in_the_regions_pass_is_passed_over(tmp_path, store, monkeypatch):
    lib = tmp_path / "lib"
    photos = make_library(lib, 5)
    real = regions_pass.decode_photo
    monkeypatch.setattr(regions_pass, "PAGE", 2)
    monkeypatch.setattr(
        regions_pass,
        "decode_photo",
        lambda path, side: DecodeFailure(path, "gone") if path == photos[1] else real(path, side),
    )
    store.run(lib)
    assert store.catalog.photos_without_regions() == [
        (store.catalog.photo_by_path(photos[1]).id, photos[1])
    ]
    assert store.catalog.count("ok") == 5


def test_additions_deletions_and_edits_are_picked_up(tmp_path, store, spy_decode):
    lib = tmp_path / "lib"
    photos = make_library(lib, 8)
    store.run(lib)
    deleted_id = store.catalog.photo_by_path(photos[0]).id
    photos[0].unlink()
    new = make_library(lib, 2, start=100)
    write_photo(photos[1], 50)  # edited: other content
    os.utime(photos[1], (2e9, 2e9))
    os.utime(photos[2], (2e9, 2e9))  # touched: same content, new time
    edited_id = store.catalog.photo_by_path(photos[1]).id
    spy_decode.clear()

    report = store.run(lib)

    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 1, 1, 6)
    assert sorted(spy_decode) == sorted([photos[1], *new])
    assert store.catalog.photo(deleted_id) is None and deleted_id not in store.index.ids()
    assert store.catalog.photo_by_path(photos[1]).id == edited_id
    assert store.catalog.photo_by_path(photos[2]).mtime == 2e9
    store.check_consistent(sorted([*photos[1:], *new]))


def test_a_renamed_photo_keeps_its_id_and_vector(tmp_path, store, spy_decode):
    lib = tmp_path / "lib"
    photos = make_library(lib, 5)
    store.run(lib)
    old = store.catalog.photo_by_path(photos[3])
    vector = store.catalog.vectors_for([old.id])
    target = lib / "sorted" / "renamed.jpg"
    target.parent.mkdir()
    photos[3].rename(target)
    spy_decode.clear()

    report = store.run(lib)

    assert spy_decode == [], "a moved photo is not decoded again"
    assert (report.added, report.updated, report.moved, report.removed) == (0, 1, 1, 0)
    moved = store.catalog.photo_by_path(target)
    assert moved.id == old.id and store.catalog.photo_by_path(photos[3]) is None
    np.testing.assert_array_equal(store.catalog.vectors_for([old.id]), vector)
    assert store.index.search(vector[0], 1)[0][0] == old.id


def test_a_repaired_file_is_indexed(tmp_path, store):
    lib = tmp_path / "lib"
    make_library(lib, 2)
    (lib / "later.jpg").write_bytes(b"")
    assert store.run(lib).failed == [(lib / "later.jpg", "empty file")]
    write_photo(lib / "later.jpg", 7)
    report = store.run(lib)
    assert (report.updated, report.failed) == (1, [])
    assert store.catalog.photo_by_path(lib / "later.jpg").status == "ok"


def test_another_model_re_embeds_everything(tmp_path, store, other_clip):
    lib = tmp_path / "lib"
    photos = make_library(lib, 4)
    store.run(lib)
    switched = store.reopen(other_clip)
    assert len(switched.index) == 0, "vectors of another model are never searched"
    report = switched.run(lib)
    assert (report.added, report.updated) == (0, 4)
    assert switched.catalog.get_meta("model") == other_clip.identity
    switched.check_consistent(photos)


def test_missing_root_keeps_its_photos(tmp_path, store):
    first, second = tmp_path / "one", tmp_path / "usb-drive"
    make_library(first, 2)
    kept = make_library(second, 3, start=10)
    store.run(first, second)
    second.rename(tmp_path / "unplugged")
    report = store.run(first, second)
    assert report.removed == 0 and report.failed == [(second, "folder not found")]
    assert all(store.catalog.photo_by_path(p).status == "ok" for p in kept)


def test_unreadable_folder_keeps_its_photos(tmp_path, store, monkeypatch):
    lib = tmp_path / "lib"
    photos = make_library(lib, 3)
    store.run(lib)
    locked, real_scandir = photos[1].parent, os.scandir

    def scandir(path="."):  # as for a user without read permission (root reads every folder)
        if Path(path) == locked:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    report = store.run(lib)
    assert report.failed == [(locked, "cannot read folder: Permission denied")]
    assert report.removed == 0
    assert store.catalog.count("ok") == 3


def test_nested_roots_and_linked_folders_index_each_photo_once(tmp_path, store):
    lib = tmp_path / "lib"
    photos = make_library(lib, 6)
    os.symlink(lib / "album-1", lib / "zz-link-to-album")
    report = store.run(lib, lib / "album-1")
    assert report.total == report.added == 6
    store.check_consistent(photos)


def test_cancel_keeps_finished_chunks_and_a_rerun_completes(tmp_path, store):
    lib = tmp_path / "lib"
    photos = make_library(lib, 12)
    cancel = threading.Event()

    def progress(stage: str, done: int, total: int) -> None:
        if done >= 6:
            cancel.set()

    with pytest.raises(Cancelled):
        store.run(lib, progress=progress, cancel=cancel, batch_size=2, chunk=4)
    kept = store.catalog.count("ok")
    assert 0 < kept < 12 and store.catalog.count() == kept
    again = store.reopen()
    assert sorted(again.index.ids()) == sorted(again.catalog.vector_ids())
    assert again.run(lib).added == 12 - kept
    again.check_consistent(photos)


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.ingest import index_library
from fluffy_desktop.engine.vectors import VectorIndex

config, weights, home, lib = sys.argv[1:5]
spec = ModelSpec(arch=config, pretrained=None, weights=Path(weights), device="cpu")
clip = ClipModel.load(spec, Path(home) / "models")
encode = clip.encode_image_batch
clip.encode_image_batch = lambda pixels: (time.sleep(0.1), encode(pixels))[1]
catalog = Catalog(Path(home) / "catalog.sqlite")
index = VectorIndex.open(Path(home) / "index", clip.dim, clip.identity, catalog)
index_library(catalog, index, clip, [Path(lib)], batch_size=2, chunk=4)
"""


def committed(catalog_path: Path) -> int:
    """Photos committed as ok, read from outside like another process would."""
    if not catalog_path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True)) as db:
            return db.execute("SELECT COUNT(*) FROM photos WHERE status = 'ok'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.reliability
def test_kill_during_indexing_then_rerun(tmp_path, tiny_model_files, tiny_clip):
    lib, home = tmp_path / "lib", tmp_path / "home"
    photos = make_library(lib, 40)
    config, weights = tiny_model_files
    args = [sys.executable, "-c", KILL_SCRIPT, str(config), str(weights), str(home), str(lib)]
    child = subprocess.Popen(args, cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while committed(home / "catalog.sqlite") < 8:
            assert child.poll() is None, "the indexer ended before it could be killed"
            assert time.monotonic() < deadline, "the indexer made no progress"
            time.sleep(0.02)
    finally:
        child.kill()
        child.wait()

    store = Store(home, tiny_clip)
    survived = store.catalog.count("ok")
    assert 8 <= survived < 40 and survived % 4 == 0, "whole chunks only"
    assert store.catalog.count() == survived
    assert sorted(store.index.ids()) == sorted(store.catalog.vector_ids())
    report = store.run(lib)
    assert (report.added, report.unchanged) == (40 - survived, survived)
    store.check_consistent(photos)
