"""The catalog: photos, vectors, roots and meta in SQLite; awkward paths round-trip."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.engine.catalog import Catalog, PhotoRecord, PhotoUpdate, content_digest
from fluffy_desktop.engine.errors import HomeUnwritable
from tests.reliability.support import fill_disk, read_only, small_tmpfs

NON_UTF8 = Path(os.fsdecode(b"/photos/caf\xe9/\xff\xfe.jpg"))


def vec(seed: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def ok(path: str | Path, seed: int, taken: str | None = None, mtime: float = 1e9) -> PhotoUpdate:
    return PhotoUpdate(Path(path), 100 + seed, mtime, taken, f"d{seed}", vector=vec(seed))


def bad(path: str, error: str = "not an image") -> PhotoUpdate:
    return PhotoUpdate(Path(path), 1, 1e9, None, "x", error=error)


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "home" / "catalog.sqlite") as cat:
        yield cat


def test_non_utf8_paths_round_trip(catalog, tmp_path):
    _, (photo_id,) = catalog.store([ok(NON_UTF8, 1)])
    record = catalog.photo_by_path(NON_UTF8)
    assert record.id == photo_id and record.path == NON_UTF8
    assert os.fsencode(record.path) == b"/photos/caf\xe9/\xff\xfe.jpg"
    assert catalog.photos_for([photo_id])[photo_id].path == NON_UTF8
    assert json.loads(json.dumps({"path": str(record.path)}))["path"] == str(NON_UTF8)
    catalog.add_root(Path(os.fsdecode(b"/photos/caf\xe9")))
    assert catalog.roots() == [Path(os.fsdecode(b"/photos/caf\xe9"))]
    assert [r.id for r in catalog.photos_under(catalog.roots())] == [photo_id]


def test_ok_photos_have_vectors_and_failures_have_reasons(catalog):
    seq, ids = catalog.store([ok("/p/a.jpg", 1), bad("/p/b.jpg"), ok("/p/c.jpg", 3)])
    assert seq == catalog.vector_seq() == 1
    assert catalog.count() == 3 and catalog.count("ok") == 2 and catalog.count("failed") == 1
    np.testing.assert_array_equal(catalog.vectors_for([ids[2], ids[0]]), [vec(3), vec(1)])
    with pytest.raises(KeyError):
        catalog.vectors_for([ids[1]])
    all_ids, vectors = catalog.all_vectors()
    assert all_ids.tolist() == [ids[0], ids[2]] and vectors.dtype == np.float32
    (failure,) = catalog.failures()
    assert (failure.path, failure.status, failure.error) == (
        Path("/p/b.jpg"),
        "failed",
        "not an image",
    )


def test_storing_again_updates_in_place(catalog):
    _, (first,) = catalog.store([ok("/p/a.jpg", 1)])
    seq, (again,) = catalog.store([bad("/p/a.jpg", "truncated file")])
    assert again == first and seq == 2
    assert catalog.photo(first).status == "failed" and catalog.vector_ids().size == 0
    catalog.store([ok("/p/a.jpg", 5)])
    assert catalog.photo(first).status == "ok" and catalog.count() == 1
    ids, _ = catalog.vectors_after(2)
    assert ids.tolist() == [first]


def test_recent_is_newest_first_by_capture_date_then_mtime(catalog):
    catalog.store(
        [
            ok("/p/old.jpg", 1, taken="2001-01-01T00:00:00", mtime=2e9),
            ok("/p/new.jpg", 2, taken="2022-06-01T00:00:00", mtime=1e8),
            ok("/p/undated.jpg", 3, mtime=1.3e9),  # 2011
            ok("/p/from-the-future.jpg", 4, mtime=1e15),  # past year 9999: listed last
            bad("/p/broken.jpg"),
        ]
    )
    names = [r.path.name for r in catalog.recent(10)]
    assert names == ["new.jpg", "undated.jpg", "old.jpg", "from-the-future.jpg"]
    assert [r.path.name for r in catalog.recent(1, offset=1)] == ["undated.jpg"]


def test_remove_root_drops_only_its_own_photos(catalog):
    for root in ("/a/lib", "/a/lib2", "/a/lib/inner"):
        catalog.add_root(Path(root))
    _, ids = catalog.store(
        [ok("/a/lib/x.jpg", 1), ok("/a/lib2/y.jpg", 2), ok("/a/lib/inner/z.jpg", 3)]
    )
    assert catalog.remove_root(Path("/a/lib")) == [ids[0]]
    assert catalog.roots() == [Path("/a/lib/inner"), Path("/a/lib2")]
    assert catalog.photo(ids[0]) is None and catalog.photo(ids[1]) and catalog.photo(ids[2])
    assert catalog.vector_ids().tolist() == [ids[1], ids[2]]


def test_clear_vectors_leaves_photos_waiting(catalog):
    catalog.store([ok("/p/a.jpg", 1), bad("/p/b.jpg")])
    catalog.clear_vectors()
    assert catalog.count("ok") == 0 and catalog.count("pending") == 1
    assert catalog.count("failed") == 1 and catalog.all_vectors()[0].size == 0
    assert catalog.recent(10) == []


def test_relocate_keeps_id_and_vector(catalog):
    _, (photo_id,) = catalog.store([ok("/p/a.jpg", 1)])
    catalog.relocate([(photo_id, Path("/p/moved/b.jpg"), 5e8)])
    record = catalog.photo(photo_id)
    assert record.path == Path("/p/moved/b.jpg") and record.mtime == 5e8
    assert catalog.photo_by_path(Path("/p/a.jpg")) is None
    np.testing.assert_array_equal(catalog.vectors_for([photo_id])[0], vec(1))


def test_catalog_persists_and_keeps_its_identity(tmp_path):
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as cat:
        cat.set_meta("model", "tiny:1")
        cat.store([ok("/p/a.jpg", 1)])
        identity = cat.catalog_id
    with Catalog(path) as cat:
        assert cat.get_meta("model") == "tiny:1" and cat.get_meta("nothing") is None
        assert cat.catalog_id == identity and cat.count("ok") == 1
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_usable_from_other_threads(catalog):
    catalog.store([ok("/p/a.jpg", 1)])
    counts = []
    worker = threading.Thread(target=lambda: counts.append(catalog.count("ok")))
    worker.start()
    worker.join()
    assert counts == [1]


def test_unopenable_catalog_is_a_user_error(tmp_path):
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(HomeUnwritable, match="move the file aside"):
        Catalog(path)


def test_digest_sees_content_not_name(tmp_path):
    data = bytes(range(256)) * 2000  # 512 KB: head, middle and tail blocks differ
    (tmp_path / "a.jpg").write_bytes(data)
    (tmp_path / "b.jpg").write_bytes(data)
    assert content_digest(tmp_path / "a.jpg") == content_digest(tmp_path / "b.jpg")
    for offset in (10, len(data) // 2, len(data) - 10):
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        (tmp_path / "c.jpg").write_bytes(bytes(changed))
        assert content_digest(tmp_path / "c.jpg") != content_digest(tmp_path / "a.jpg"), offset


@pytest.mark.reliability
def test_read_only_home_still_reads_and_names_the_cause(tmp_path):
    home = tmp_path / "home"
    with Catalog(home / "catalog.sqlite") as cat:
        cat.store([ok("/p/a.jpg", 1)])
    with read_only(home), Catalog(home / "catalog.sqlite") as cat:
        assert cat.count("ok") == 1 and cat.read_only
        with pytest.raises(HomeUnwritable, match="is read-only; make it writable"):
            cat.add_root(Path("/p"))
    with pytest.raises(HomeUnwritable, match="is read-only"), read_only(home):
        Catalog(home / "new" / "catalog.sqlite")


@pytest.mark.reliability
def test_full_disk_refuses_writes_and_names_the_cause(tmp_path):
    with small_tmpfs(tmp_path / "disk", "2m") as disk:
        catalog = Catalog(disk / "catalog.sqlite")
        catalog.store([ok("/p/a.jpg", 1)])
        filler = fill_disk(disk)
        with pytest.raises(HomeUnwritable, match="is full; free some space"):
            catalog.store([ok(f"/p/{i}-{'x' * 200}.jpg", i) for i in range(2000)])
        assert catalog.count("ok") == 1
        filler.unlink()
        catalog.store([ok("/p/b.jpg", 2)])
        assert catalog.count("ok") == 2
        catalog.close()


def test_a_photos_date_is_when_it_was_taken_else_modified_and_never_an_error():
    def record(taken: str | None, mtime: float) -> PhotoRecord:
        return PhotoRecord(1, Path("/p.jpg"), 1, mtime, taken, "digest", "ok", None)

    assert record("2020-03-12T10:00:00", 0.0).when == "2020-03-12T10:00:00"
    assert record(None, 1e13).when == ""  # a file dated past year 9999
    assert record(None, 1_600_000_000.0).when.startswith("2020-09-1")


def test_region_vectors_live_and_go_with_their_photo(tmp_path):
    rng = np.random.default_rng(0)
    vector, regions = rng.standard_normal(8).astype(np.float32), rng.standard_normal((4, 8))

    def photo(name: str, embedded: bool = True) -> PhotoUpdate:
        return PhotoUpdate(tmp_path / name, 1, 1.0, None, name, vector if embedded else None)

    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        _, (first, second, _failed) = catalog.store([photo("a"), photo("b"), photo("c", False)])
        assert catalog.photos_without_regions() == [
            (first, tmp_path / "a"),
            (second, tmp_path / "b"),
        ]
        catalog.store_regions({first: regions})
        assert catalog.photos_without_regions() == [(second, tmp_path / "b")]
        found = catalog.regions_for([first, second], 8)
        assert list(found) == [first]
        np.testing.assert_allclose(found[first], regions, atol=2e-3)  # float16
        catalog.store([photo("a")])  # embedded again (its content changed): regions go
        assert catalog.regions_for([first], 8) == {}
        catalog.store_regions({first: regions, second: regions})
        catalog.delete([first])
        assert catalog.regions_for([first], 8) == {}
        catalog.clear_vectors()
        assert catalog.regions_for([second], 8) == {}
        assert catalog.photos_without_regions() == []


def test_all_embedded_agrees_with_coverage(tmp_path):
    vector = np.ones(8, dtype=np.float32)
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        assert catalog.all_embedded("m")  # an empty library lacks nothing
        catalog.set_meta("model", "m")
        catalog.store([PhotoUpdate(tmp_path / "a.jpg", 1, 1.0, None, "a", vector)])
        catalog.store([PhotoUpdate(tmp_path / "b.jpg", 1, 1.0, None, "b")])  # unreadable
        assert catalog.all_embedded("m") and catalog.coverage("m") == (1, 1)
        assert not catalog.all_embedded("other") and catalog.coverage("other") == (0, 1)
        catalog.clear_vectors()
        assert not catalog.all_embedded("m") and catalog.coverage("m") == (0, 1)
