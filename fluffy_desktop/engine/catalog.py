"""The catalog: SQLite (WAL) under the home directory, the source of truth for the library.

Library roots, photos (path, size, mtime, capture date, a cheap content hash, status, error),
each photo's embedding and the identity of the model that made it. The hnswlib index is a
cache that can always be rebuilt from here without re-embedding.

Paths are stored as BLOBs of os.fsencode(path), so names that are not valid UTF-8 round-trip;
in Python they are Path objects (surrogate-escaped). Status is 'ok' (decoded and embedded),
'failed' (with a reason) or 'pending' (known file whose vector was cleared by a model change).

The layout has a version (`PRAGMA user_version`): opening an older catalog upgrades it step by
step in one transaction; a catalog made by a newer Fluffy is refused and left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from fluffy_desktop.engine.errors import CatalogTooNew, HomeUnwritable

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path BLOB PRIMARY KEY, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    taken TEXT,
    sort_time TEXT NOT NULL,
    digest TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'pending')),
    error TEXT
);
CREATE INDEX IF NOT EXISTS photos_recent ON photos (status, sort_time DESC, id DESC);
CREATE TABLE IF NOT EXISTS vectors (
    id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS vectors_seq ON vectors (seq);
"""


def _tables_v1(db: sqlite3.Connection) -> None:
    """Version 1: the tables, which catalogs made before versions (0) already have."""
    for statement in SCHEMA.split(";"):
        db.execute(statement)


def _regions_v2(db: sqlite3.Connection) -> None:
    """Version 2: region vectors (engine/regions.py), float16, beside each photo's vector;
    the next index run makes them for the photos indexed before."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS regions ("
        "id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE, data BLOB NOT NULL)"
    )


# MIGRATIONS[n] brings a catalog from version n to n + 1. A catalog that cannot be written is
# read as it is: a step that changes what the reads expect must refuse such older catalogs.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_tables_v1, _regions_v2)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = "id, path, size, mtime, taken, digest, status, error"
_HASH_BLOCK = 64 * 1024
_MAX_PARAMS = 500
_MIN_FREE = 1 << 20
_WRITE_FAILURES = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
    "SQLITE_BUSY",
)


def content_digest(path: Path) -> str:
    """The cheap content hash: size plus the first, middle and last 64 KiB."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest = hashlib.blake2b(str(size).encode(), digest_size=16)
        for offset in sorted({0, max(0, size // 2 - _HASH_BLOCK // 2), max(0, size - _HASH_BLOCK)}):
            handle.seek(offset)
            digest.update(handle.read(_HASH_BLOCK))
    return digest.hexdigest()


@dataclass(frozen=True)
class PhotoRecord:
    """A photo as the catalog knows it (status 'ok', 'failed' or 'pending')."""

    id: int
    path: Path
    size: int
    mtime: float
    taken: str | None
    digest: str
    status: str
    error: str | None

    @property
    def when(self) -> str:
        """When the photo was taken, else when the file last changed (ISO text; "" if absurd)."""
        return photo_time(self.taken, self.mtime)


@dataclass(frozen=True)
class PhotoUpdate:
    """The outcome of decoding (and embedding) one file: a vector, or an error."""

    path: Path
    size: int
    mtime: float
    taken: str | None
    digest: str
    vector: np.ndarray | None = None
    error: str | None = None


def _blob(path: Path | str) -> bytes:
    return os.fsencode(path)


def _path(blob: bytes) -> Path:
    return Path(os.fsdecode(blob))


def _prefix_range(root: Path) -> tuple[bytes, bytes]:
    """Byte bounds [low, high) of the paths strictly inside root."""
    prefix = _blob(root)
    sep = os.sep.encode()
    if not prefix.endswith(sep):
        prefix += sep
    return prefix, prefix[:-1] + bytes([prefix[-1] + 1])


def photo_time(taken: str | None, mtime: float) -> str:
    """Taken date, else the local modification time, as comparable ISO text."""
    if taken:
        return taken
    try:
        return datetime.fromtimestamp(mtime).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):  # a file dated past year 9999
        return ""


def _record(row: tuple) -> PhotoRecord:
    return PhotoRecord(row[0], _path(row[1]), *row[2:])


def _chunks(items: Sequence, size: int = _MAX_PARAMS) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_problem(path: Path, exc: BaseException) -> str:
    """Why the catalog cannot be written, and what to do about it."""
    folder = next((p for p in (path, *path.parents) if p.exists()), path.parent)
    folder = folder if folder.is_dir() else folder.parent
    if not os.access(folder, os.W_OK):
        return f"{folder} is read-only; make it writable or choose another home (--home)"
    with contextlib.suppress(OSError):
        if shutil.disk_usage(folder).free < _MIN_FREE or "full" in str(exc):
            return f"the disk holding {folder} is full; free some space and try again"
    return f"{exc}; check the home directory"


def _version(db: sqlite3.Connection, path: Path) -> int:
    """The catalog's layout version; CatalogTooNew if a newer Fluffy made it."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise CatalogTooNew(
            f"the catalog {path} comes from a newer Fluffy (catalog version {version}, this one "
            f"reads up to {SCHEMA_VERSION}); install that version or a later one to open it"
        )
    return int(version)


def _upgrade(db: sqlite3.Connection, path: Path) -> None:
    """Bring the catalog to SCHEMA_VERSION step by step (inside the caller's transaction)."""
    version = _version(db, path)
    for step in MIGRATIONS[version:]:
        step(db)
    if version < SCHEMA_VERSION:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _is_write_failure(exc: BaseException) -> bool:
    """A failure of the disk or its permissions, not of our SQL."""
    name = getattr(exc, "sqlite_errorname", "")
    return isinstance(exc, OSError) or name.startswith(_WRITE_FAILURES)


class Catalog:
    """One SQLite catalog, safe to share between threads (calls are serialised).

    When the home cannot be written (read-only, full disk) an existing catalog opens read
    only: searching works, and every write raises HomeUnwritable naming the cause.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self.read_only: str | None = None  # why writes are refused, when they are
        try:
            self._open_writable()
        except (OSError, sqlite3.Error, HomeUnwritable) as exc:
            self.read_only = _write_problem(self.path, exc)
            self._db = self._open_read_only(exc)

    def _open_writable(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute("PRAGMA busy_timeout = 10000")
            _version(self._db, self.path)  # before any write: a newer catalog stays as it is
            for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
                self._db.execute(f"PRAGMA {pragma}")
            with self._write() as db:
                _upgrade(db, self.path)
                db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('catalog_id', ?)", (uuid.uuid4().hex,)
                )
        except BaseException:
            self._db.close()
            raise

    def _open_read_only(self, cause: BaseException) -> sqlite3.Connection:
        """The existing catalog, read only (immutable when even its lock file cannot be made)."""
        if not self.path.is_file():
            raise HomeUnwritable(f"cannot create the catalog {self.path}: {self.read_only}")
        for options in ("mode=ro", "mode=ro&immutable=1"):
            uri = f"{self.path.absolute().as_uri()}?{options}"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            try:
                _version(db, self.path)
                db.execute("SELECT value FROM meta WHERE key = 'catalog_id'").fetchall()
                return db
            except sqlite3.Error as exc:
                db.close()
                cause = exc
            except BaseException:
                db.close()
                raise
        raise HomeUnwritable(
            f"cannot open the catalog {self.path}: {cause}; "
            "if it is damaged, move the file aside to start afresh"
        ) from cause

    # --- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on success, rolled back on any error; a disk
        that refuses the write raises HomeUnwritable."""
        with self._lock:
            if self.read_only is not None:
                raise HomeUnwritable(f"cannot write the catalog {self.path}: {self.read_only}")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if _is_write_failure(exc):
                    reason = _write_problem(self.path, exc)
                    raise HomeUnwritable(f"cannot write the catalog {self.path}: {reason}") from exc
                raise

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    @property
    def catalog_id(self) -> str:
        """A random identity made with the catalog: an index built from another is stale."""
        return self.get_meta("catalog_id") or ""

    # --- roots ----------------------------------------------------------------------------
    def add_root(self, path: Path) -> Path:
        """Add a library folder (made absolute); returns it as stored."""
        root = Path(os.path.abspath(path))
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO roots VALUES (?, ?)", (_blob(root), time.time()))
        return root

    def remove_root(self, path: Path) -> list[int]:
        """Forget a library folder and its photos (those under no other root); their ids."""
        root = Path(os.path.abspath(path))
        with self._write() as db:
            db.execute("DELETE FROM roots WHERE path = ?", (_blob(root),))
            others = [_path(r[0]) for r in db.execute("SELECT path FROM roots")]
            low, high = _prefix_range(root)
            rows = db.execute(
                "SELECT id, path FROM photos WHERE path >= ? AND path < ?", (low, high)
            ).fetchall()
            ids = [i for i, p in rows if not any(_path(p).is_relative_to(o) for o in others)]
            self._delete(db, ids)
        return ids

    def roots(self) -> list[Path]:
        return [_path(r[0]) for r in self._query("SELECT path FROM roots ORDER BY path")]

    # --- photos ---------------------------------------------------------------------------
    def photo(self, photo_id: int) -> PhotoRecord | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM photos WHERE id = ?", (int(photo_id),))
        return _record(rows[0]) if rows else None

    def photo_by_path(self, path: Path) -> PhotoRecord | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM photos WHERE path = ?", (_blob(path),))
        return _record(rows[0]) if rows else None

    def photos_for(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """The photos with these ids (unknown ids are left out)."""
        found: dict[int, PhotoRecord] = {}
        for part in _chunks([int(i) for i in ids]):
            marks = ",".join("?" * len(part))
            rows = self._query(f"SELECT {_COLUMNS} FROM photos WHERE id IN ({marks})", part)
            found.update((row[0], _record(row)) for row in rows)
        return found

    def recent(self, limit: int, offset: int = 0) -> list[PhotoRecord]:
        """Indexed photos, newest first by capture date, else modification time."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM photos WHERE status = 'ok' "
            "ORDER BY sort_time DESC, id DESC LIMIT ? OFFSET ?",
            (int(limit), int(offset)),
        )
        return [_record(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        if status is None:
            return int(self._query("SELECT COUNT(*) FROM photos")[0][0])
        return int(self._query("SELECT COUNT(*) FROM photos WHERE status = ?", (status,))[0][0])

    def coverage(self, model: str) -> tuple[int, int]:
        """(photos embedded with this model, readable photos): the one answer to "which model
        are these vectors from" (the catalog's model tag, and each photo's status)."""
        rows = self._query(
            "SELECT status, COUNT(*) FROM photos WHERE status IN ('ok', 'pending') GROUP BY status"
        )
        counts = dict(rows)
        embedded = counts.get("ok", 0) if self.get_meta("model") == model else 0
        return int(embedded), int(counts.get("ok", 0) + counts.get("pending", 0))

    def all_embedded(self, model: str) -> bool:
        """Whether every readable photo has its vector from this model: what coverage() would
        say, by an index seek instead of a count (a count costs ~0.1 s at a million photos)."""
        if self.get_meta("model") != model:
            return not self._query("SELECT 1 FROM photos WHERE status IN ('ok', 'pending') LIMIT 1")
        return not self._query("SELECT 1 FROM photos WHERE status = 'pending' LIMIT 1")

    def paths_by_digest(self, digests: Sequence[str]) -> dict[str, list[Path]]:
        """The library paths holding each content digest (digests not in the library left out)."""
        found: dict[str, list[Path]] = {}
        for part in _chunks(sorted(set(digests))):
            marks = ",".join("?" * len(part))
            rows = self._query(
                f"SELECT digest, path FROM photos WHERE digest IN ({marks}) ORDER BY path", part
            )
            for digest, path in rows:
                found.setdefault(digest, []).append(_path(path))
        return found

    def failures(self) -> list[PhotoRecord]:
        rows = self._query(f"SELECT {_COLUMNS} FROM photos WHERE status = 'failed' ORDER BY path")
        return [_record(r) for r in rows]

    def photos_under(self, roots: Sequence[Path]) -> list[PhotoRecord]:
        """Every photo inside any of these folders, whatever its status."""
        found: dict[int, PhotoRecord] = {}
        for root in roots:
            low, high = _prefix_range(Path(os.path.abspath(root)))
            rows = self._query(
                f"SELECT {_COLUMNS} FROM photos WHERE path >= ? AND path < ?", (low, high)
            )
            found.update((r[0], _record(r)) for r in rows)
        return list(found.values())

    # --- vectors --------------------------------------------------------------------------
    def vectors_for(self, ids: Sequence[int]) -> np.ndarray:
        """float32 rows in the order of ids; KeyError for an id without a vector."""
        ids = [int(i) for i in ids]
        found = self._vector_blobs(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(f"photos without a vector: {missing[:5]}")
        return self._stack([found[i] for i in ids])

    def vectors_found(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 rows) of those of ids that have a vector, in the order given."""
        wanted = [int(i) for i in ids]
        found = self._vector_blobs(wanted)
        kept = [i for i in wanted if i in found]
        return np.asarray(kept, dtype=np.int64), self._stack([found[i] for i in kept])

    def _vector_blobs(self, ids: list[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            found.update(self._query(f"SELECT id, data FROM vectors WHERE id IN ({marks})", part))
        return found

    _WITHOUT_REGIONS = (
        "FROM photos JOIN vectors USING (id) LEFT JOIN regions USING (id) WHERE regions.id IS NULL"
    )

    def photos_without_regions(self, after: int = 0, limit: int = 10_000) -> list[tuple[int, Path]]:
        """(id, path) of up to `limit` embedded photos past id `after` whose regions are not
        made yet, by id (a page at a time: a million rows would not fit well in memory)."""
        rows = self._query(
            f"SELECT photos.id, photos.path {self._WITHOUT_REGIONS} AND photos.id > ? "
            "ORDER BY photos.id LIMIT ?",
            (after, limit),
        )
        return [(int(photo_id), _path(path)) for photo_id, path in rows]

    def count_without_regions(self) -> int:
        ((count,),) = self._query(f"SELECT COUNT(*) {self._WITHOUT_REGIONS}")
        return int(count)

    def store_regions(self, regions: dict[int, np.ndarray]) -> None:
        """Write photos' region vectors (float16, regions × dim) in one transaction."""
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO regions VALUES (?, ?)",
                [
                    (photo_id, np.ascontiguousarray(parts, dtype=np.float16).tobytes())
                    for photo_id, parts in regions.items()
                ],
            )

    def regions_for(self, ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
        """The region vectors (float32, regions × dim) of those photos that have them."""
        if self.read_only is not None and _version(self._db, self.path) < len(MIGRATIONS):
            return {}  # an older catalog opened read only: no regions table
        found: dict[int, np.ndarray] = {}
        for part in _chunks([int(i) for i in ids]):
            marks = ",".join("?" * len(part))
            for photo_id, data in self._query(
                f"SELECT id, data FROM regions WHERE id IN ({marks})", part
            ):
                found[photo_id] = (
                    np.frombuffer(data, np.float16).reshape(-1, dim).astype(np.float32)
                )
        return found

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int64, vectors float32 n × dim) of every embedded photo."""
        return self._vector_rows("SELECT id, data FROM vectors ORDER BY id", ())

    def vectors_after(self, seq: int) -> tuple[np.ndarray, np.ndarray]:
        """The vectors written after sequence number seq (see vector_seq)."""
        return self._vector_rows("SELECT id, data FROM vectors WHERE seq > ? ORDER BY id", (seq,))

    def vector_ids(self) -> np.ndarray:
        """The ids of every embedded photo (streamed: no row list at a million photos)."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM vectors")
            return np.fromiter((row[0] for row in rows), dtype=np.int64)

    def vector_count(self) -> int:
        """How many photos have a vector (counted on the seq index: ms at a million)."""
        return int(self._query("SELECT COUNT(*) FROM vectors", ())[0][0])

    def newest_id(self) -> int:
        """The id of the photo indexed last (ids only grow: AUTOINCREMENT), 0 for none."""
        (newest,) = self._query("SELECT MAX(id) FROM photos")[0]
        return int(newest or 0)

    def vector_seq(self) -> int:
        """A counter that grows with every chunk of vectors written, never reset."""
        return int(self.get_meta("vector_seq") or 0)

    def clear_vectors(self) -> None:
        """The model changed: drop every vector; those photos wait to be embedded again."""
        with self._write() as db:
            db.execute("DELETE FROM vectors")
            db.execute("DELETE FROM regions")
            db.execute("UPDATE photos SET status = 'pending' WHERE status = 'ok'")

    def _vector_rows(self, sql: str, params: Sequence) -> tuple[np.ndarray, np.ndarray]:
        rows = self._query(sql, params)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, self._stack([r[1] for r in rows])

    @staticmethod
    def _stack(blobs: list[bytes]) -> np.ndarray:
        if not blobs:
            return np.zeros((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()

    # --- writes for ingest ----------------------------------------------------------------
    def store(self, updates: Sequence[PhotoUpdate]) -> tuple[int, list[int]]:
        """Write decoded photos (with their vectors) and failures in one transaction.

        Returns (the new vector sequence number, the photo id of each update in order).
        A photo becomes 'ok' only together with its vector; a failure drops any old vector.
        """
        with self._write() as db:
            seq = self.vector_seq() + 1
            ids = [self._upsert(db, update, seq) for update in updates]
            db.execute("INSERT OR REPLACE INTO meta VALUES ('vector_seq', ?)", (str(seq),))
        return seq, ids

    def _upsert(self, db: sqlite3.Connection, update: PhotoUpdate, seq: int) -> int:
        status = "ok" if update.vector is not None else "failed"
        (photo_id,) = db.execute(
            "INSERT INTO photos (path, size, mtime, taken, sort_time, digest, status, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
            "size = excluded.size, mtime = excluded.mtime, taken = excluded.taken, "
            "sort_time = excluded.sort_time, digest = excluded.digest, "
            "status = excluded.status, error = excluded.error RETURNING id",
            (
                _blob(update.path),
                update.size,
                update.mtime,
                update.taken,
                photo_time(update.taken, update.mtime),
                update.digest,
                status,
                update.error,
            ),
        ).fetchone()
        if update.vector is None:
            db.execute("DELETE FROM vectors WHERE id = ?", (photo_id,))
        else:
            data = np.ascontiguousarray(update.vector, dtype=np.float32).tobytes()
            db.execute("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", (photo_id, seq, data))
        db.execute("DELETE FROM regions WHERE id = ?", (photo_id,))  # made again after
        return int(photo_id)

    def relocate(self, moves: Sequence[tuple[int, Path, float]]) -> None:
        """Give photos a new path and/or modification time (moved or touched, same content)."""
        if not moves:
            return
        with self._write() as db:
            db.executemany(
                "UPDATE photos SET path = ?, mtime = ?, sort_time = COALESCE(taken, ?) "
                "WHERE id = ?",
                [(_blob(path), mtime, photo_time(None, mtime), i) for i, path, mtime in moves],
            )

    def delete(self, ids: Sequence[int]) -> None:
        """Forget these photos (and their vectors)."""
        if not ids:
            return
        with self._write() as db:
            self._delete(db, ids)

    @staticmethod
    def _delete(db: sqlite3.Connection, ids: Sequence[int]) -> None:
        for part in _chunks([int(i) for i in ids]):
            db.execute(f"DELETE FROM photos WHERE id IN ({','.join('?' * len(part))})", part)
