"""The hnswlib vector index: a cache of the catalog's vectors, checked and repaired on open.

Files: `index.bin` (hnswlib) and `index.json` (dimension, space, model, the catalog it was
built from, the last catalog vector sequence it holds, deleted labels, size and hash of
index.bin, and its stamp). On open, any mismatch rebuilds the index from the catalog; an index
that is merely behind (a kill before the last save) is brought up to date from the vectors
written since, and one that is mostly deleted items is rebuilt compact.

From PACK_AT photos on, the graph holds each vector through a projection onto its library's
main directions (projection.py; half the memory for ViT-B-32) and proposes candidates that
the catalog's full vectors rank exactly; index.json then also holds the projection.

Hashing index.bin takes seconds at a million photos (2.3 GB), so it is skipped while the file
still has the stamp recorded when it was saved: the same inode, size, and modification and
status-change times, which any write to the file or replacement of it changes. A file whose
stamp differs (a restore from backup, a copy to another disk) is hashed once and re-stamped.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.errors import HomeUnwritable
from fluffy_desktop.engine.home import atomic_path, atomic_write_bytes
from fluffy_desktop.engine.projection import GRAPH_DIM, Projection

SPACE = "cosine"
FORMAT = 1
M = 32
EF_CONSTRUCTION = 200
EF_SEARCH = 128
MIN_CAPACITY = 1024
# Up to this many photos a query is an exact matrix product (a few ms for 512-d vectors);
# past it, the HNSW graph answers (recall@10 about 0.99 on image embeddings).
EXACT_LIMIT = 20_000
# From this many photos on, the graph holds projected vectors (projection.py): an index
# reaching it is rebuilt narrower once, while search is still exact.
PACK_AT = EXACT_LIMIT


@dataclass(frozen=True)
class _Identity:
    """What an index must match to be usable."""

    dim: int
    model: str
    catalog: str


def _among(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Which of ids are in sorted_ids (a sorted array), as a boolean mask."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    found: np.ndarray = sorted_ids[at] == ids
    return found


def _stamp(path: Path) -> list[int]:
    """What a write to the file, or its replacement, changes: inode, size, mtime, ctime (ns)."""
    stat = path.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _graph(dim: int, capacity: int) -> hnswlib.Index:
    """An empty HNSW graph of dim-dimensional vectors, with room for capacity of them."""
    graph = hnswlib.Index(space=SPACE, dim=dim)
    graph.init_index(max_elements=capacity, M=M, ef_construction=EF_CONSTRUCTION)
    graph.set_ef(EF_SEARCH)
    return graph


def _candidates(k: int) -> int:
    """How many photos a projected graph proposes for the k a search wants (at 1M synthetic
    vectors, text queries' recall@10 is then 0.985, as with the full vectors)."""
    return k + max(k, 96)


def _top(
    ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """The k (id, cosine) of the vectors most similar to query, best first."""
    k = min(k, len(ids))
    if k <= 0:
        return []
    scores = vectors @ query
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(ids[i]), float(scores[i])) for i in top]


def _narrowed(
    ids: np.ndarray, vectors: np.ndarray, incoming: np.ndarray
) -> tuple[Projection, hnswlib.Index]:
    """A projection fitted to vectors and incoming, and a graph of the projected vectors."""
    projection = Projection.fit(np.concatenate([vectors, incoming]), GRAPH_DIM)
    graph = _graph(projection.out_dim, max(MIN_CAPACITY, (len(ids) + len(incoming)) * 5 // 4))
    if len(ids):
        graph.add_items(projection(vectors), ids)
    return projection, graph


def _file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class VectorIndex:
    """Cosine nearest neighbours over photo vectors; ids are photo ids. Thread-safe."""

    def __init__(
        self,
        directory: Path,
        identity: _Identity,
        index: hnswlib.Index,
        catalog: Catalog,
        projection: Projection | None = None,
    ):
        self.directory = Path(directory)
        self._identity = identity
        self._catalog = catalog  # the full vectors, when the graph holds projected ones
        self._projection = projection
        self._lock = threading.RLock()
        self._index = index
        self._index.set_ef(EF_SEARCH)
        # every label ever added, sorted (an array: at 1M photos a set of ints costs ~60 MB)
        self._labels = np.sort(np.asarray(index.get_ids_list(), dtype=np.int64))
        self._deleted: set[int] = set()
        self._seq = 0
        self._dirty = True
        self._changes = 0  # counts changes, so that work done outside the lock can tell
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None  # live ids, their vectors
        self.exact_limit = EXACT_LIMIT

    @classmethod
    def _empty(
        cls, directory: Path, identity: _Identity, catalog: Catalog, capacity: int = MIN_CAPACITY
    ) -> VectorIndex:
        """A new index with room for capacity vectors (it grows when needed)."""
        return cls(directory, identity, _graph(identity.dim, capacity), catalog)

    # --- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, dim: int, model: str, catalog: Catalog) -> VectorIndex:
        """The saved index when it matches the catalog, else one rebuilt from the catalog."""
        identity = _Identity(dim, model, catalog.catalog_id)
        index: VectorIndex | None
        if catalog.get_meta("model") not in (None, model):
            # the catalog's vectors belong to another model
            index = cls._empty(directory, identity, catalog)
        else:
            index = cls._load(directory, identity, catalog)
            if index is None or not index._catch_up(catalog) or index._mostly_deleted():
                index = cls._build(directory, identity, catalog)
        if index._dirty:
            # a read-only or full home: the index serves from memory until a write can save it
            with contextlib.suppress(HomeUnwritable):
                index.save()
        return index

    @classmethod
    def _build(cls, directory: Path, identity: _Identity, catalog: Catalog) -> VectorIndex:
        """A fresh index holding every vector of the catalog."""
        ids, vectors = catalog.all_vectors()
        capacity = max(MIN_CAPACITY, len(ids) * 5 // 4)
        index = cls._empty(directory, identity, catalog, capacity)
        index.add(ids, vectors)
        index._seq = catalog.vector_seq()
        return index

    @classmethod
    def _load(cls, directory: Path, identity: _Identity, catalog: Catalog) -> VectorIndex | None:
        """The saved index if its files are whole and made for this identity, else None."""
        bin_path, json_path = directory / "index.bin", directory / "index.json"
        try:
            meta = json.loads(json_path.read_text())
            expected = {"format": FORMAT, "space": SPACE, "dim": identity.dim}
            expected |= {"model": identity.model, "catalog": identity.catalog}
            if any(meta.get(key) != value for key, value in expected.items()):
                return None
            stamped = meta.get("stamp") == _stamp(bin_path)
            if not stamped and (
                bin_path.stat().st_size != meta["bytes"] or _file_hash(bin_path) != meta["hash"]
            ):
                return None
            projection = Projection.from_json(meta["graph"]) if meta.get("graph") else None
            if projection is not None and projection.basis.shape[0] != identity.dim:
                return None
            graph_dim = projection.out_dim if projection else identity.dim
            hnsw = hnswlib.Index(space=SPACE, dim=graph_dim)
            hnsw.load_index(str(bin_path), max_elements=max(MIN_CAPACITY, meta["labels"]))
            index = cls(directory, identity, hnsw, catalog, projection)
            index._deleted = {int(i) for i in meta["deleted"]}
            if len(index) != meta["count"] or not _among(index._deleted_ids(), index._labels).all():
                return None
            index._seq, index._dirty = int(meta["seq"]), False
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, binascii.Error):
            return None
        if not stamped:
            with contextlib.suppress(HomeUnwritable):
                index._write_meta(meta["bytes"], meta["hash"])
        return index

    def _catch_up(self, catalog: Catalog) -> bool:
        """Add the vectors written since the last save and drop photos that are gone.

        False when the index cannot be trusted (it claims more than the catalog has, or
        still disagrees about which photos have vectors) and must be rebuilt.
        """
        seq = catalog.vector_seq()
        if self._seq > seq:
            return False
        if self._seq == seq and len(self) == catalog.vector_count():
            # nothing written since: the catalog can only have lost vectors, and lost none
            return True
        if self._seq < seq:
            self.add(*catalog.vectors_after(self._seq))
            self._seq, self._dirty = seq, True
        wanted, live = catalog.vector_ids(), self.ids()
        self.remove(live[~_among(live, np.sort(wanted))])
        return bool(_among(wanted, live).all())

    def _mostly_deleted(self) -> bool:
        """Deleted items still take room and search time: past half, a rebuild pays."""
        return len(self._deleted) > max(MIN_CAPACITY, len(self._labels) // 2)

    # --- writing --------------------------------------------------------------------------
    def add(
        self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray, seq: int | None = None
    ) -> None:
        """Add or replace vectors (also of deleted ids); seq: the catalog chunk they came from."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if not len(ids):
            return
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        _, last = np.unique(ids[::-1], return_index=True)  # a repeated id: its last vector
        keep = np.sort(len(ids) - 1 - last)
        ids, vectors = ids[keep], vectors[keep]
        if vectors.shape[1] != self._identity.dim:
            raise ValueError(f"vectors of dimension {vectors.shape[1]}, index has {self.dim}")
        if self._projection is None and self.dim > GRAPH_DIM and len(self) + len(ids) >= PACK_AT:
            self._pack(vectors)
        with self._lock:
            fresh = np.unique(ids[~_among(ids, self._labels)])
            needed = self._index.element_count + len(fresh)
            if needed > self._index.get_max_elements():
                self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
            self._index.add_items(self._graph_vectors(vectors), ids)  # also unmarks deleted
            self._labels = np.insert(self._labels, np.searchsorted(self._labels, fresh), fresh)
            self._deleted.difference_update(ids.tolist())
            if seq is not None:
                self._seq = max(self._seq, seq)
            self._changed()

    def _changed(self) -> None:
        self._changes += 1
        self._dirty, self._matrix = True, None

    def _graph_vectors(self, vectors: np.ndarray) -> np.ndarray:
        return vectors if self._projection is None else self._projection(vectors)

    def _pack(self, incoming: np.ndarray) -> None:
        """Rebuild the graph on projected vectors (deleted items dropped), its basis fitted to
        the live vectors and the incoming ones.

        The rebuild (seconds at PACK_AT photos) runs outside the lock, so searches go on with
        the old graph meanwhile; if the index changed in the meantime, it is redone under
        the lock.
        """
        with self._lock:
            if self._projection is not None:
                return
            changes, ids = self._changes, self.ids()
            vectors = self._full_width(ids)
        projection, graph = _narrowed(ids, vectors, incoming)
        with self._lock:
            if self._projection is not None:
                return
            if self._changes != changes:
                ids = self.ids()
                projection, graph = _narrowed(ids, self._full_width(ids), incoming)
            self._projection, self._index = projection, graph
            self._labels, self._deleted = ids, set()
            self._changed()

    def _full_width(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of a graph that holds them whole."""
        vectors = np.asarray(self._index.get_items(ids), dtype=np.float32)
        return vectors.reshape(len(ids), self.dim)

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these photos (ids not in the index are ignored)."""
        ids = np.unique(np.fromiter(ids, dtype=np.int64))
        with self._lock:
            for photo_id in ids[_among(ids, self._labels)].tolist():
                if photo_id not in self._deleted:
                    self._index.mark_deleted(photo_id)
                    self._deleted.add(photo_id)
                    self._changed()

    def clear(self) -> None:
        """Drop everything (the model changed)."""
        with self._lock:
            self.remove(self._labels)

    def save(self) -> None:
        """Write index.bin and index.json, each by temp file + rename (if anything changed)."""
        with self._lock:
            if not self._dirty:
                return
            with atomic_path(self.directory / "index.bin") as tmp:
                self._index.save_index(str(tmp))
                size, digest = tmp.stat().st_size, _file_hash(tmp)
            self._write_meta(size, digest)
            self._dirty = False

    def _write_meta(self, size: int, digest: str) -> None:
        """index.json for the index.bin now on disk, with that file's stamp."""
        with self._lock:
            meta = {
                "format": FORMAT,
                "space": SPACE,
                "dim": self._identity.dim,
                "model": self._identity.model,
                "catalog": self._identity.catalog,
                "seq": self._seq,
                "count": len(self),
                "labels": len(self._labels),
                "deleted": sorted(self._deleted),
                "bytes": size,
                "hash": digest,
                "stamp": _stamp(self.directory / "index.bin"),
                "graph": self._projection.to_json() if self._projection else None,
            }
            atomic_write_bytes(self.directory / "index.json", json.dumps(meta).encode())

    # --- reading --------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self._identity.dim

    @property
    def model(self) -> str:
        return self._identity.model

    def __len__(self) -> int:
        with self._lock:
            return len(self._labels) - len(self._deleted)

    def ids(self) -> np.ndarray:
        """The live photo ids, sorted."""
        with self._lock:
            return np.setdiff1d(self._labels, self._deleted_ids(), assume_unique=True)

    def _deleted_ids(self) -> np.ndarray:
        return np.fromiter(self._deleted, dtype=np.int64, count=len(self._deleted))

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest photos as (id, cosine similarity), most similar first."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        with self._lock:
            k = min(int(k), len(self))
            if k <= 0:
                return []
            if len(self) <= self.exact_limit:
                return self._exact(query, k)
            wanted = k if self._projection is None else min(len(self), _candidates(k))
            self._index.set_ef(max(EF_SEARCH, wanted))
            try:
                labels, distances = self._index.knn_query(
                    self._graph_vectors(query[None]), k=wanted, num_threads=1
                )
            except RuntimeError:  # too few reachable live items past deletions
                return self._exact(query, k)
            finally:
                self._index.set_ef(EF_SEARCH)
        if self._projection is not None:  # candidates, ranked by their exact cosines
            return _top(*self._full_vectors(labels[0]), query, k)
        return [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0], strict=True)]

    def _full_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, full vectors) of these photos; a projected graph's come from the catalog,
        which leaves out photos it no longer has."""
        if self._projection is not None:
            return self._catalog.vectors_found(ids)
        return ids, self._full_width(ids)

    def _exact(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Exhaustive search; the matrix is kept (until the next change) for small indexes."""
        matrix = self._matrix
        if matrix is None:
            matrix = self._full_vectors(self.ids())
            if len(matrix[0]) <= self.exact_limit:
                self._matrix = matrix
        ids, vectors = matrix
        return _top(ids, vectors, query, k)
