"""Indexing: scan the library folders, compare with the catalog, decode, embed and commit.

Decoding and preprocessing run in a thread pool that stays ahead of the model. Results are
committed in chunks (catalog rows together with their vectors, then the index), so a kill
loses at most the chunk in flight and a rerun resumes; the index is repaired from the catalog
on open if its last save was missed. Photo folders are only read.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fluffy_desktop.engine.catalog import Catalog, PhotoRecord, PhotoUpdate, content_digest
from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.errors import Cancelled
from fluffy_desktop.engine.images import DecodeFailure, decode_photo, is_image_name
from fluffy_desktop.engine.regions_pass import add_regions
from fluffy_desktop.engine.tasks import Progress, ahead, check_cancel, no_progress
from fluffy_desktop.engine.vectors import VectorIndex

# Never photo folders: NAS thumbnails, recycle bins, file-system and OS bookkeeping.
SKIPPED_FOLDERS = frozenset(
    {
        "@eadir",
        "@recycle",
        "#recycle",
        "#snapshot",
        "$recycle.bin",
        "system volume information",
        "lost+found",
        "__macosx",
    }
)


@dataclass
class IndexReport:
    """What a run did. `moved` (renamed or moved photos, kept without re-embedding) and
    `reembedded` (photos embedded again for a new model) are parts of `updated`; `total` is
    the number of image files found under the roots."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    total: int = 0
    seconds: float = 0.0
    moved: int = 0
    reembedded: int = 0
    regions: int = 0  # photos whose regions were embedded (engine/regions_pass.py)
    regions_seconds: float = 0.0  # the part of seconds that took

    def to_json(self) -> dict:
        """The `index --json` document."""
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "failed": [{"path": str(path), "error": error} for path, error in self.failed],
            "total": self.total,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Found:
    """An image file seen by the scan."""

    path: Path
    size: int
    mtime: float


@dataclass
class Scan:
    """Image files under the roots, folders that could not be read, and why."""

    files: list[Found] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def blind(self) -> list[Path]:
        """Folders whose photos we could not see: they are kept, not removed."""
        return [path for path, _ in self.problems]


@dataclass
class _Job:
    """One file to decode and embed; the fields after `new` are filled by the pipeline."""

    found: Found
    new: bool
    pending: bool = False  # known, its vector dropped by a model change
    digest: str = ""
    taken: str | None = None
    tensor: torch.Tensor | None = None
    vector: np.ndarray | None = None
    error: str | None = None

    def update(self) -> PhotoUpdate:
        found = self.found
        return PhotoUpdate(
            found.path, found.size, found.mtime, self.taken, self.digest, self.vector, self.error
        )


def _skipped(name: str) -> bool:
    return name.startswith(".") or name.lower() in SKIPPED_FOLDERS


def scan(roots: Sequence[Path], cancel: threading.Event | None = None) -> Scan:
    """Image files under the roots: hidden and system folders skipped, each real folder
    visited once (symlink loops end there), only regular files with an image suffix."""
    result = Scan()
    visited: set[tuple[int, int]] = set()
    for root in roots:
        _walk(Path(root), visited, result, cancel)
    result.files.sort(key=lambda found: found.path)
    return result


def _walk(
    root: Path, visited: set[tuple[int, int]], result: Scan, cancel: threading.Event | None
) -> None:
    """Depth first; folders reached through symlinks wait until the real ones are done,
    so a photo is found under its real path when it has one inside the root."""
    folders: list[Path] = [root]
    linked: list[Path] = []
    while folders or linked:
        check_cancel(cancel)
        if not folders:
            folders, linked = linked, []
        folder = folders.pop()
        try:
            info = os.stat(folder)
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(20, "not a folder")
            if (info.st_dev, info.st_ino) in visited:
                continue
            visited.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            missing = folder == root and isinstance(exc, FileNotFoundError)
            reason = "folder not found" if missing else f"cannot read folder: {exc.strerror}"
            result.problems.append((folder, reason))
            continue
        for entry in entries:
            _sort_entry(entry, folders, linked, result.files)


def _sort_entry(entry: os.DirEntry, folders: list, linked: list, files: list[Found]) -> None:
    """A sub-folder onto its list, a regular image file into files; anything else dropped."""
    if _skipped(entry.name):
        return
    try:
        if entry.is_dir():
            (linked if entry.is_symlink() else folders).append(Path(entry.path))
        elif is_image_name(entry.name):
            info = entry.stat()
            if stat.S_ISREG(info.st_mode):
                files.append(Found(Path(entry.path), info.st_size, info.st_mtime))
    except OSError:  # a dangling link, or a file that vanished meanwhile
        return


def ensure_model(catalog: Catalog, clip: ClipModel) -> bool:
    """Tag the catalog with the model; True when its vectors were from another model and
    have been dropped (every photo is then embedded again by the next index run)."""
    current = catalog.get_meta("model")
    if current == clip.identity:
        return False
    if current is not None:
        catalog.clear_vectors()
    catalog.set_meta("model", clip.identity)
    return current is not None


def index_library(
    catalog: Catalog,
    index: VectorIndex,
    clip: ClipModel,
    roots: Sequence[Path],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    batch_size: int = 32,
    chunk: int = 256,
) -> IndexReport:
    """Bring catalog and index up to date with the photos under roots.

    Calls ensure_model first. Raises Cancelled (after committing what is finished) when
    cancel is set.
    """
    if (index.model, index.dim) != (clip.identity, clip.dim):
        raise ValueError("the vector index was opened for another model")
    started = time.monotonic()
    progress = progress or no_progress
    roots = [Path(os.path.abspath(root)) for root in roots]
    if ensure_model(catalog, clip):
        index.clear()
    report = IndexReport()
    progress("Scanning folders", 0, 0)
    found = scan(roots, cancel)
    report.total = len(found.files)
    report.failed.extend(found.problems)
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            jobs = _reconcile(catalog, index, roots, found, report, pool)
            pipeline = _Pipeline(catalog, index, clip, report, progress, cancel)
            pipeline.run(pool, jobs, batch_size, chunk)
    finally:
        index.save()
    report.regions, report.regions_seconds = add_regions(catalog, clip, progress, cancel)
    report.seconds = time.monotonic() - started
    return report


def _reconcile(
    catalog: Catalog,
    index: VectorIndex,
    roots: Sequence[Path],
    found: Scan,
    report: IndexReport,
    pool: ThreadPoolExecutor,
) -> list[_Job]:
    """Compare the scan with the catalog: count the unchanged, apply touches, moves and
    removals, and return the files that must be decoded and embedded."""
    known = {record.path: record for record in catalog.photos_under(roots)}
    jobs: list[_Job] = []
    new, changed = [], []
    for item in found.files:
        record = known.pop(item.path, None)
        if record is None:
            new.append(item)
        elif (record.size, record.mtime) != (item.size, item.mtime):
            changed.append((item, record))
        else:
            _keep(record, item, report, jobs)
    touched = _same_content(pool, changed, jobs)
    blind = found.blind
    gone = [r for r in known.values() if not any(r.path.is_relative_to(b) for b in blind)]
    moved, fresh = _match_moves(pool, new, gone)
    catalog.relocate([(r.id, item.path, item.mtime) for item, r in touched + moved])
    for item, record in touched:
        _keep(record, item, report, jobs)
    for item, record in moved:
        _keep(record, item, report, jobs, moved=True)
    kept = {record.id for _, record in moved}
    removed = [record.id for record in gone if record.id not in kept]
    catalog.delete(removed)
    index.remove(removed)
    report.removed = len(removed)
    jobs.extend(fresh)
    return jobs


def _same_content(
    pool: ThreadPoolExecutor, changed: list[tuple[Found, PhotoRecord]], jobs: list[_Job]
) -> list[tuple[Found, PhotoRecord]]:
    """Files whose size or time changed: those with the same content hash are returned
    (only touched), the others are queued for decoding."""
    touched = []
    digests = _digests(pool, [item for item, _ in changed])
    for (item, record), digest in zip(changed, digests, strict=True):
        if digest and digest == record.digest:
            touched.append((item, record))
        else:
            jobs.append(_Job(item, new=False, digest=digest))
    return touched


def _keep(
    record: PhotoRecord, item: Found, report: IndexReport, jobs: list[_Job], moved: bool = False
) -> None:
    """A file whose content the catalog already knows: count it, or queue a missing vector."""
    if record.status == "pending":
        jobs.append(_Job(item, new=False, pending=True))
    elif record.status == "failed":
        report.failed.append((item.path, record.error or "unreadable"))
    elif moved:
        report.moved += 1
        report.updated += 1
    else:
        report.unchanged += 1


def _digest(path: Path) -> str:
    try:
        return content_digest(path)
    except OSError:
        return ""


def _digests(pool: ThreadPoolExecutor, items: Sequence[Found]) -> list[str]:
    return list(pool.map(_digest, [item.path for item in items]))


def _match_moves(
    pool: ThreadPoolExecutor, new: list[Found], gone: list[PhotoRecord]
) -> tuple[list[tuple[Found, PhotoRecord]], list[_Job]]:
    """Pair new files with vanished records of the same size and content hash; the others
    become jobs (keeping the hash when it was taken)."""
    sizes = {record.size for record in gone}
    candidates = [item for item in new if item.size in sizes]
    by_content: dict[tuple[int, str], list[PhotoRecord]] = {}
    for record in gone:
        by_content.setdefault((record.size, record.digest), []).append(record)
    moved: list[tuple[Found, PhotoRecord]] = []
    digests: dict[Path, str] = {}
    for item, digest in zip(candidates, _digests(pool, candidates), strict=True):
        twins = by_content.get((item.size, digest))
        if digest and twins:
            moved.append((item, twins.pop()))
        else:
            digests[item.path] = digest
    paired = {item.path for item, _ in moved}
    rest = [item for item in new if item.path not in paired]
    return moved, [_Job(item, new=True, digest=digests.get(item.path, "")) for item in rest]


def _prepare(job: _Job, min_side: int, to_tensor: Callable) -> _Job:
    """In a worker thread: hash (unless already hashed), decode and preprocess one file."""
    job.digest = job.digest or _digest(job.found.path)
    decoded = decode_photo(job.found.path, min_side)
    if isinstance(decoded, DecodeFailure):
        job.error = decoded.reason
        return job
    job.taken = decoded.taken
    try:
        job.tensor = to_tensor(decoded.image)
    except Exception as exc:
        job.error = f"cannot prepare image ({type(exc).__name__})"
    return job


@dataclass
class _Pipeline:
    """Embeds prepared jobs in batches and commits them in chunks."""

    catalog: Catalog
    index: VectorIndex
    clip: ClipModel
    report: IndexReport
    progress: Progress
    cancel: threading.Event | None
    done: int = 0

    def run(self, pool: ThreadPoolExecutor, jobs: list[_Job], batch_size: int, chunk: int) -> None:
        total = len(jobs)
        self.progress("Indexing photos", 0, total)
        unsaved: list[_Job] = []
        batch: list[_Job] = []
        stream = ahead(pool, self._prepare, jobs, 2 * batch_size + (os.cpu_count() or 2))
        try:
            with closing(stream):
                for job in stream:
                    unsaved.append(job)
                    if job.tensor is not None:
                        batch.append(job)
                    if len(batch) >= batch_size:
                        self._embed(batch)
                        batch = []
                        self.progress("Indexing photos", self.done + len(unsaved), total)
                    if len(unsaved) >= chunk:
                        self._embed(batch)
                        self._commit(unsaved)
                        batch, unsaved = [], []
                        check_cancel(self.cancel)
            self._embed(batch)
            self._commit(unsaved)
        except Cancelled:
            self._commit([job for job in unsaved if job.tensor is None])
            raise
        self.progress("Indexing photos", total, total)

    def _prepare(self, job: _Job) -> _Job:
        return _prepare(job, self.clip.image_size, self.clip.image_tensor)

    def _embed(self, batch: list[_Job]) -> None:
        """Embed a batch (after checking the cancel flag), releasing its tensors."""
        if not batch:
            return
        check_cancel(self.cancel)
        tensors = [job.tensor for job in batch if job.tensor is not None]  # prepared: all are
        vectors = self.clip.encode_image_batch(torch.stack(tensors))
        for job, vector in zip(batch, vectors, strict=True):
            job.vector, job.tensor = vector, None

    def _commit(self, jobs: list[_Job]) -> None:
        """Catalog rows with their vectors in one transaction, then the index."""
        if not jobs:
            return
        seq, ids = self.catalog.store([job.update() for job in jobs])
        ok = [(i, job.vector) for i, job in zip(ids, jobs, strict=True) if job.vector is not None]
        if ok:
            self.index.add([i for i, _ in ok], np.stack([vector for _, vector in ok]), seq=seq)
        self.index.remove([i for i, job in zip(ids, jobs, strict=True) if job.vector is None])
        for job in jobs:
            if job.vector is None:
                self.report.failed.append((job.found.path, job.error or "unreadable"))
            elif job.new:
                self.report.added += 1
            else:
                self.report.updated += 1
                self.report.reembedded += job.pending
        self.done += len(jobs)
