"""Photos that change under a running scan, and searching while indexing and learning run."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.engine import ingest
from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.images import decode_photo
from tests.photos import make_library, write_photo
from tests.reliability.support import assert_consistent

pytestmark = pytest.mark.reliability


def stored_vector(album: Album, path: Path) -> np.ndarray:
    record = album.catalog.photo_by_path(path.resolve())
    assert record is not None and record.status == "ok", record
    return album.catalog.vectors_for([record.id])[0]


def fresh_vector(album: Album, path: Path) -> np.ndarray:
    clip = album.clip()
    return clip.encode_images([decode_photo(path, clip.image_size).image])[0]


def test_photos_deleted_or_rewritten_during_a_scan(tiny_spec, tmp_path, monkeypatch):
    """One photo vanishes and one is replaced before they are read, one is replaced right
    after it was read: the run finishes, and a rerun leaves exactly the files on disk, each
    with the vector of its current content."""
    library = tmp_path / "photos"
    photos = make_library(library, 40)
    vanished, replaced_early, replaced_late = photos[30], photos[31], photos[5]
    real_decode, lock, changed = ingest.decode_photo, threading.Lock(), []

    def decode_while_files_change(path: Path, min_side: int = 224):
        with lock:
            if not changed:
                changed.append(path)
                vanished.unlink()
                write_photo(replaced_early, 100, size=(80, 60))
        decoded = real_decode(path, min_side)
        if Path(path) == replaced_late:
            write_photo(replaced_late, 101, size=(80, 60))
        return decoded

    monkeypatch.setattr(ingest, "decode_photo", decode_while_files_change)
    with Album(tmp_path / "home", tiny_spec) as album:
        first = album.index([library])
        assert changed, "the files were not changed during the scan"
        assert first.total == 40 and first.added + len(first.failed) == 40
        assert [p for p, _ in first.failed] in ([], [vanished])
        monkeypatch.undo()
        album.index([library])
        for path in (replaced_early, replaced_late):
            np.testing.assert_allclose(
                stored_vector(album, path), fresh_vector(album, path), atol=1e-5
            )
        assert album.catalog.photo_by_path(vanished.resolve()) is None
    assert_consistent(tmp_path / "home", library).close()


def test_search_while_indexing_and_learning(tiny_spec, tmp_path):
    library = tmp_path / "photos"
    shots = make_library(library / "first", 20)
    with Album(tmp_path / "home", tiny_spec) as album:
        album.index([library])
        make_library(library / "more", 150, start=20)
        errors: list[BaseException] = []

        def guarded(work):
            def run():
                try:
                    work()
                except BaseException as exc:  # reported by the main thread
                    errors.append(exc)

            return threading.Thread(target=run)

        settings = LearnSettings(steps=20, augmentations=1)
        workers = [
            guarded(lambda: album.index([library])),
            guarded(lambda: album.learn("Fluffy", "cat", shots[:5], settings=settings)),
        ]
        for worker in workers:
            worker.start()
        searches = during = 0
        while any(worker.is_alive() for worker in workers) or searches < 3:
            during += any(worker.is_alive() for worker in workers)
            for text in ("a photo", "Fluffy on the sofa"):
                hits = album.search(text, 10)
                scores = [hit.score for hit in hits]
                assert len(hits) == 10 and scores == sorted(scores, reverse=True)
                assert len({hit.path for hit in hits}) == 10
                assert all(hit.path.is_file() for hit in hits)
            searches += 1
        for worker in workers:
            worker.join()
        assert errors == []
        assert during >= 2, "the searches did not overlap the work"
        assert album.catalog.count("ok") == 170
        assert album.concepts.names() == ["Fluffy"]
    assert_consistent(tmp_path / "home", library).close()
