"""The vector index: correct answers, growth, deletions, and repair from the catalog."""

from __future__ import annotations

import hashlib
import json
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.engine.catalog import Catalog, PhotoUpdate
from fluffy_desktop.engine.vectors import VectorIndex, _file_hash

DIM = 16
MODEL = "test-model:1"


def unit(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(catalog: Catalog, vectors: np.ndarray, start: int = 0) -> list[int]:
    """Store one photo per vector (what ingest does) and return their ids."""
    updates = [
        PhotoUpdate(Path(f"/lib/{start + i}.jpg"), 1, 1.0, None, str(i), vector=v)
        for i, v in enumerate(vectors)
    ]
    return catalog.store(updates)[1]


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        cat.set_meta("model", MODEL)
        yield cat


def open_index(tmp_path: Path, catalog: Catalog, dim: int = DIM, model: str = MODEL):
    return VectorIndex.open(tmp_path / "index", dim, model, catalog)


def never_rebuild(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(VectorIndex, "_build", classmethod(fail))


@pytest.mark.parametrize("exact_limit", [0, 10_000], ids=["graph", "exact"])
def test_search_ranks_by_cosine_similarity(tmp_path, catalog, exact_limit):
    index = open_index(tmp_path, catalog)
    index.exact_limit = exact_limit
    assert len(index) == 0 and index.search(unit(1)[0], 5) == []
    vectors = unit(50)
    index.add(np.arange(100, 150), vectors)
    results = index.search(vectors[7], 10)
    assert results[0][0] == 107 and results[0][1] == pytest.approx(1.0, abs=1e-5)
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)
    expected = vectors @ vectors[7]
    assert scores[1] == pytest.approx(np.sort(expected)[-2], abs=1e-5)
    assert len(index.search(vectors[0], 500)) == 50, "k above the count returns everything"


@pytest.mark.parametrize("exact_limit", [0, 10_000], ids=["graph", "exact"])
def test_remove_and_re_add(tmp_path, catalog, exact_limit):
    index = open_index(tmp_path, catalog)
    index.exact_limit = exact_limit
    vectors = unit(20)
    index.add(range(20), vectors)
    index.remove([3, 4, 999])
    assert len(index) == 18
    assert {i for i, _ in index.search(vectors[3], 20)} == set(range(20)) - {3, 4}
    replacement = unit(1, seed=9)[0]
    index.add([3], [replacement])  # a deleted id comes back, with its new vector
    assert len(index) == 19 and index.search(replacement, 1)[0][0] == 3
    index.add([5], [replacement])  # a live id is replaced, not duplicated
    assert len(index) == 19 and {i for i, _ in index.search(replacement, 2)} == {3, 5}


class GraphGivesUp:
    """hnswlib as it behaves when deletions leave too few reachable items for k."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def knn_query(self, *args, **kwargs):
        raise RuntimeError("Cannot return the results in a contiguous 2D array")


@pytest.mark.parametrize("graph_gives_up", [False, True])
def test_graph_search_past_many_deletions_is_complete(tmp_path, catalog, graph_gives_up):
    index = open_index(tmp_path, catalog)
    index.exact_limit = 0
    vectors = unit(300)
    index.add(range(300), vectors)
    index.remove(range(290))
    if graph_gives_up:
        index._index = GraphGivesUp(index._index)
    results = index.search(vectors[0], 10)
    assert sorted(i for i, _ in results) == list(range(290, 300))
    expected = np.sort(vectors[290:] @ vectors[0])[::-1]
    np.testing.assert_allclose([score for _, score in results], expected, atol=1e-5)


def test_grows_past_its_initial_capacity(tmp_path, catalog):
    vectors = unit(1500, dim=8)
    index = open_index(tmp_path, catalog, dim=8)
    for start in range(0, 1500, 500):
        index.add(range(start, start + 500), vectors[start : start + 500])
    assert len(index) == 1500 and index.search(vectors[1234], 1)[0][0] == 1234


def test_graph_recall_at_10(tmp_path, catalog):
    vectors = unit(3000, dim=32, seed=1)
    index = VectorIndex.open(tmp_path / "i32", 32, MODEL, catalog)
    index.exact_limit = 0
    index.add(range(3000), vectors)
    queries = unit(50, dim=32, seed=2)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    hits = sum(
        len({i for i, _ in index.search(q, 10)} & set(t))
        for q, t in zip(queries, truth, strict=True)
    )
    assert hits / truth.size >= 0.98


def test_saved_index_loads_without_rebuilding(tmp_path, catalog, monkeypatch):
    ids = fill(catalog, unit(30))
    first = open_index(tmp_path, catalog)  # built from the catalog and saved
    first.remove([ids[1]])
    catalog.delete([ids[1]])
    first.save()
    never_rebuild(monkeypatch)
    again = open_index(tmp_path, catalog)
    assert len(again) == 29 and ids[1] not in again.ids()
    assert again.search(catalog.vectors_for([ids[5]])[0], 1)[0][0] == ids[5]


def test_an_unchanged_catalog_is_not_listed_on_open(tmp_path, catalog, monkeypatch):
    """Listing a million ids costs a second: the same sequence and count say nothing changed."""
    fill(catalog, unit(30))
    open_index(tmp_path, catalog)
    never_rebuild(monkeypatch)
    monkeypatch.setattr(Catalog, "vector_ids", lambda self: pytest.fail("listed the catalog"))
    assert len(open_index(tmp_path, catalog)) == 30


def test_photos_deleted_while_the_index_was_closed_are_dropped_on_open(tmp_path, catalog):
    ids = fill(catalog, unit(30))
    open_index(tmp_path, catalog)
    catalog.delete(ids[3:5])
    index = open_index(tmp_path, catalog)
    assert len(index) == 28 and not set(ids[3:5]) & set(index.ids().tolist())


def test_index_behind_the_catalog_catches_up(tmp_path, catalog, monkeypatch):
    ids = fill(catalog, unit(10))
    open_index(tmp_path, catalog)  # saved with 10
    # as if killed after these catalog commits, before the index was saved:
    new_ids = fill(catalog, unit(5, seed=3), start=10)
    moved_vector = unit(1, seed=4)
    catalog.store([PhotoUpdate(Path("/lib/0.jpg"), 1, 2.0, None, "new", vector=moved_vector[0])])
    catalog.delete([ids[1]])
    never_rebuild(monkeypatch)
    index = open_index(tmp_path, catalog)
    assert set(index.ids()) == set(catalog.vector_ids()) and len(index) == 14
    assert index.search(moved_vector[0], 1)[0][0] == ids[0]
    assert all(index.search(v, 1)[0][0] == i for i, v in zip(new_ids, unit(5, seed=3), strict=True))


@pytest.mark.reliability
@pytest.mark.parametrize(
    "damage",
    ["truncate", "corrupt", "missing-json", "json-without-seq", "other-model", "bad-graph"],
)
def test_damaged_or_foreign_index_is_rebuilt_from_the_catalog(tmp_path, catalog, damage):
    ids = fill(catalog, unit(40))
    open_index(tmp_path, catalog)
    bin_path, json_path = tmp_path / "index" / "index.bin", tmp_path / "index" / "index.json"
    data = bin_path.read_bytes()
    if damage == "truncate":
        bin_path.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":
        bin_path.write_bytes(data[:100] + bytes(len(data) - 200) + data[-100:])
    elif damage == "missing-json":
        json_path.unlink()
    elif damage == "json-without-seq":
        meta = json.loads(json_path.read_text())
        json_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "seq"}))
    elif damage == "bad-graph":
        meta = json.loads(json_path.read_text())
        json_path.write_text(json.dumps(meta | {"graph": {"shape": [DIM, 8], "basis": "AAAA"}}))
    else:
        meta = json.loads(json_path.read_text())
        json_path.write_text(json.dumps(meta | {"model": "another:2"}))
    index = open_index(tmp_path, catalog)
    assert len(index) == 40
    vectors = catalog.vectors_for(ids)
    assert all(index.search(v, 1)[0][0] == i for i, v in zip(ids, vectors, strict=True))
    assert json.loads(json_path.read_text())["model"] == MODEL


def test_mostly_deleted_index_is_rebuilt_compact(tmp_path, catalog):
    ids = fill(catalog, unit(1200, seed=5))
    open_index(tmp_path, catalog)
    catalog.delete(ids[:1100])
    index = open_index(tmp_path, catalog)
    assert sorted(index.ids()) == ids[1100:]
    assert json.loads((tmp_path / "index" / "index.json").read_text())["deleted"] == []


def test_index_of_another_dimension_is_rebuilt(tmp_path, catalog):
    old = open_index(tmp_path, catalog, dim=8)
    old.add(range(5), unit(5, dim=8))
    old.save()
    ids = fill(catalog, unit(12))
    index = open_index(tmp_path, catalog, dim=DIM)
    assert index.dim == DIM and sorted(index.ids()) == sorted(ids)
    assert json.loads((tmp_path / "index" / "index.json").read_text())["dim"] == DIM


def test_catalog_of_another_model_gives_an_empty_index(tmp_path, catalog):
    fill(catalog, unit(12))
    index = open_index(tmp_path, catalog, model="other:9")
    assert len(index) == 0 and index.model == "other:9"


@pytest.mark.parametrize("exact_limit", [0, 10_000], ids=["graph", "exact"])
def test_queries_are_safe_while_adding(tmp_path, catalog, exact_limit):
    index = open_index(tmp_path, catalog)
    index.exact_limit = exact_limit
    vectors = unit(1200)
    index.add(range(100), vectors[:100])
    errors: list[BaseException] = []

    def query():
        try:
            for q in vectors[:100]:
                assert index.search(q, 5)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=query) for _ in range(3)]
    for reader in readers:
        reader.start()
    for start in range(100, 1200, 100):
        index.add(range(start, start + 100), vectors[start : start + 100])
        index.remove([start - 50])
    for reader in readers:
        reader.join()
    assert not errors and len(index) == 1200 - 11


def test_a_large_index_holds_no_python_object_per_photo(tmp_path, catalog):
    """At a million photos, Python objects per photo (a set of ids, row lists) cost hundreds of
    MB beside hnswlib: opening and catching up keep them to a few bytes per photo."""
    n = 10_000
    ids = fill(catalog, unit(n, dim=4), start=0)
    open_index(tmp_path, catalog, dim=4).save()
    open_index(tmp_path, catalog, dim=4)  # imports and caches warmed
    catalog.delete(ids[:1])  # so the catch-up compares the catalog's ids with the index's
    tracemalloc.start()
    try:
        index = open_index(tmp_path, catalog, dim=4)
        kept, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        assert index._catch_up(catalog)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index) == n - 1
    assert kept / n < 16  # a sorted int64 array of ids (a set: ~90 bytes a photo)
    assert (peak - kept) / n < 64  # the catalog's ids as arrays (rows and sets: ~190)


def test_the_index_file_is_hashed_in_blocks(tmp_path):
    """index.bin is 2.3 GB at a million photos: hashing it must not read it whole."""
    big = tmp_path / "index.bin"
    big.write_bytes(np.random.default_rng(0).bytes(16 << 20))
    tracemalloc.start()
    try:
        digest = _file_hash(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # a block or two of 1 MiB
    assert digest == hashlib.blake2b(big.read_bytes(), digest_size=16).hexdigest()


def _count_hashes(monkeypatch) -> list[Path]:
    """The files hashed from now on (the real hash still runs)."""
    from fluffy_desktop.engine import vectors

    hashed: list[Path] = []

    def counting(path: Path) -> str:
        hashed.append(path)
        return _file_hash(path)

    monkeypatch.setattr(vectors, "_file_hash", counting)
    return hashed


def test_a_saved_index_opens_without_being_hashed_again(tmp_path, catalog, monkeypatch):
    """Hashing index.bin costs seconds at a million photos: its unchanged stamp is enough."""
    fill(catalog, unit(40))
    open_index(tmp_path, catalog)
    hashed = _count_hashes(monkeypatch)
    never_rebuild(monkeypatch)
    assert len(open_index(tmp_path, catalog)) == 40
    assert hashed == []


def test_a_copied_index_is_hashed_once_then_trusted(tmp_path, catalog, monkeypatch):
    """A restore or a copy to another disk gives the file a new stamp: one hash, then none."""
    import shutil

    fill(catalog, unit(40))
    open_index(tmp_path, catalog)
    bin_path = tmp_path / "index" / "index.bin"
    shutil.copy2(bin_path, tmp_path / "copy.bin")
    shutil.move(tmp_path / "copy.bin", bin_path)
    hashed = _count_hashes(monkeypatch)
    never_rebuild(monkeypatch)
    assert len(open_index(tmp_path, catalog)) == 40
    assert len(open_index(tmp_path, catalog)) == 40
    assert hashed == [bin_path]


def test_an_index_rewritten_in_place_with_its_old_times_is_still_caught(tmp_path, catalog):
    """Same inode, size and modification time, other vectors: the status-change time differs."""
    import os

    import hnswlib

    ids = fill(catalog, unit(40))
    open_index(tmp_path, catalog)
    bin_path = tmp_path / "index" / "index.bin"
    before = bin_path.stat()
    other = hnswlib.Index(space="cosine", dim=DIM)
    other.load_index(str(bin_path))
    other.add_items(unit(40, seed=9), ids)
    other.save_index(str(tmp_path / "other.bin"))
    with open(bin_path, "r+b") as handle:
        handle.write((tmp_path / "other.bin").read_bytes())
    assert bin_path.stat().st_size == before.st_size
    os.utime(bin_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    index = open_index(tmp_path, catalog)
    vectors = catalog.vectors_for(ids)
    assert all(index.search(v, 1)[0][0] == i for i, v in zip(ids, vectors, strict=True))


def anisotropic(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors that vary mostly along a few directions, as photo embeddings do."""
    rng = np.random.default_rng(seed)
    scales = 1.0 / np.arange(1, DIM + 1)
    v = (rng.standard_normal((n, DIM)) * scales).astype(np.float32) + 0.3
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def narrow_graph(monkeypatch):
    """Indexes of 300 photos or more keep 8 of the 16 coordinates in their graph."""
    from fluffy_desktop.engine import vectors

    monkeypatch.setattr(vectors, "GRAPH_DIM", 8)
    monkeypatch.setattr(vectors, "PACK_AT", 300)


def exact_top(catalog: Catalog, query: np.ndarray, k: int) -> list[int]:
    ids, vectors = catalog.all_vectors()
    return [int(i) for i in ids[np.argsort(-(vectors @ query))[:k]]]


def test_a_large_index_keeps_projected_vectors_and_ranks_by_exact_cosine(
    tmp_path, catalog, narrow_graph, monkeypatch
):
    ids = fill(catalog, anisotropic(600))
    index = open_index(tmp_path, catalog)
    index.exact_limit = 0
    meta = json.loads((tmp_path / "index" / "index.json").read_text())
    assert meta["graph"]["shape"] == [DIM, 8]
    queries = anisotropic(40, seed=1)
    found = [index.search(q, 10) for q in queries]
    recall = np.mean(
        [
            len({i for i, _ in hits} & set(exact_top(catalog, q, 10))) / 10
            for hits, q in zip(found, queries, strict=True)
        ]
    )
    assert recall >= 0.95
    vectors = dict(zip(ids, catalog.vectors_for(ids), strict=True))
    for hits, q in zip(found, queries, strict=True):
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        for photo_id, score in hits:
            assert score == pytest.approx(float(vectors[photo_id] @ q), abs=1e-5)
    never_rebuild(monkeypatch)
    again = open_index(tmp_path, catalog)
    again.exact_limit = 0
    assert [again.search(q, 10) for q in queries] == found


def test_an_index_growing_past_the_pack_point_is_narrowed_once(tmp_path, catalog, narrow_graph):
    first = fill(catalog, anisotropic(250))
    index = open_index(tmp_path, catalog)
    index.exact_limit = 0
    index.remove(first[:10])
    catalog.delete(first[:10])
    more = anisotropic(100, seed=2)
    more_ids = fill(catalog, more, start=250)
    index.add(more_ids, more)
    index.save()
    assert json.loads((tmp_path / "index" / "index.json").read_text())["graph"] is not None
    assert len(index) == 340 and set(index.ids().tolist()) == set(first[10:] + more_ids)
    vectors = catalog.vectors_for(more_ids)
    assert all(index.search(v, 1)[0][0] == i for i, v in zip(more_ids, vectors, strict=True))


def test_a_narrow_graph_never_returns_photos_the_catalog_lost(tmp_path, catalog, narrow_graph):
    ids = fill(catalog, anisotropic(400))
    index = open_index(tmp_path, catalog)
    index.exact_limit = 0
    gone = set(ids[::2])
    catalog.delete(sorted(gone))
    for q in anisotropic(20, seed=3):
        hits = index.search(q, 10)
        assert hits and not {i for i, _ in hits} & gone


def test_searches_go_on_while_an_index_is_narrowed(tmp_path, catalog, narrow_graph, monkeypatch):
    """The narrowing rebuild takes seconds at 20,000 photos: it must not hold the lock."""
    from fluffy_desktop.engine import vectors

    first = fill(catalog, anisotropic(250))
    index = open_index(tmp_path, catalog)
    answered: list[list] = []
    real_narrowed = vectors._narrowed

    def narrowed_while_searching(*args):
        searcher = threading.Thread(target=lambda: answered.append(index.search(unit(1)[0], 3)))
        searcher.start()
        searcher.join(timeout=10)
        return real_narrowed(*args)

    monkeypatch.setattr(vectors, "_narrowed", narrowed_while_searching)
    more = anisotropic(100, seed=2)
    index.add(fill(catalog, more, start=250), more)
    assert len(answered) == 1 and {i for i, _ in answered[0]} <= set(first)
    assert index._projection is not None and len(index) == 350


def test_a_change_during_the_narrowing_is_not_lost(tmp_path, catalog, narrow_graph, monkeypatch):
    from fluffy_desktop.engine import vectors

    first = fill(catalog, anisotropic(250))
    index = open_index(tmp_path, catalog)
    real_narrowed = vectors._narrowed
    calls = []

    def narrowed_after_a_removal(*args):
        if not calls:
            index.remove(first[:5])  # another thread's change, while the graph is rebuilt
        calls.append(args)
        return real_narrowed(*args)

    monkeypatch.setattr(vectors, "_narrowed", narrowed_after_a_removal)
    more = anisotropic(100, seed=2)
    more_ids = fill(catalog, more, start=250)
    index.add(more_ids, more)
    assert len(calls) == 2  # the first rebuild was stale, and redone
    assert set(index.ids().tolist()) == set(first[5:] + more_ids)
    index.exact_limit = 0
    vectors_ = catalog.vectors_for(first[5:])
    assert all(index.search(v, 1)[0][0] == i for i, v in zip(first[5:], vectors_, strict=True))
