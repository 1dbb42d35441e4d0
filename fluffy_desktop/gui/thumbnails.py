"""Thumbnails: decoded off the UI thread, cached as small JPEGs under the home directory.

`Thumbnails.get(path)` answers at once from memory or returns None and queues a load; the
newest requests are served first (the rows on screen now), and requests that fall too far
behind are dropped, so scrolling through 100,000 photos never builds a backlog. When an image
is ready, `loaded(path, image)` is emitted in the UI thread (a null QImage: not decodable).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from fluffy_desktop.engine.home import atomic_path
from fluffy_desktop.engine.images import DecodeFailure, load_display_image

THUMB_SIDE = 224  # pixels of the longer side of a cached thumbnail
MEMORY_ITEMS = 600  # thumbnails kept decoded in memory (about 120 kB each)
MAX_PENDING = 256  # queued requests beyond this are forgotten, oldest first
THREADS = 2  # decoding threads


def cache_file(cache_dir: Path, path: Path, size: int, mtime_ns: int) -> Path:
    """Where the thumbnail of this version of a file lives (a changed file gets a new one)."""
    key = f"{os.fsencode(path).hex()}:{size}:{mtime_ns}:{THUMB_SIDE}".encode()
    name = hashlib.blake2b(key, digest_size=16).hexdigest()
    return cache_dir / name[:2] / f"{name}.jpg"


def render_thumbnail(path: Path, cache_dir: Path) -> QImage:
    """The thumbnail of path, from the disk cache or decoded (and then cached); null if broken."""
    try:
        info = path.stat()
    except OSError:
        return QImage()
    cached = cache_file(cache_dir, path, info.st_size, info.st_mtime_ns)
    if cached.is_file():
        image = QImage(str(cached))
        if not image.isNull():
            return image
    decoded = load_display_image(path, THUMB_SIDE)
    if isinstance(decoded, DecodeFailure):
        return QImage()
    buffer = io.BytesIO()
    decoded.save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    try:
        with atomic_path(cached) as tmp:
            tmp.write_bytes(data)
    except OSError:
        pass  # a full or read-only home only costs the cache, never the thumbnail
    return QImage.fromData(data, "JPEG")


class _Loader(QRunnable):
    """Serves queued requests, newest first, until the queue is empty."""

    def __init__(self, owner: Thumbnails):
        super().__init__()
        self.owner = owner

    def run(self) -> None:
        while (path := self.owner._next_request()) is not None:
            self.owner._deliver.emit(str(path), render_thumbnail(path, self.owner.cache_dir))


class Thumbnails(QObject):
    """A shared thumbnail source for the grid, the concept list and the concept dialog."""

    loaded = Signal(str, QImage)
    _deliver = Signal(str, QImage)

    def __init__(self, cache_dir: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self._memory: OrderedDict[str, QImage] = OrderedDict()
        self._pending: OrderedDict[str, Path] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(THREADS)
        self._loaders = 0
        self._deliver.connect(self._store)

    def get(self, path: Path) -> QImage | None:
        """The thumbnail if it is in memory (null image: broken file), else None and a load."""
        key = str(path)
        image = self._memory.get(key)
        if image is not None:
            self._memory.move_to_end(key)
            return image
        self._request(key, Path(path))
        return None

    def _request(self, key: str, path: Path) -> None:
        with self._lock:
            if key in self._in_flight:
                return
            self._pending[key] = path
            self._pending.move_to_end(key)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
            if self._loaders >= self._pool.maxThreadCount():
                return
            self._loaders += 1
        self._pool.start(_Loader(self))

    def _next_request(self) -> Path | None:
        with self._lock:
            if not self._pending:
                self._loaders -= 1
                return None
            key, path = self._pending.popitem(last=True)
            self._in_flight.add(key)
            return path

    def _store(self, key: str, image: QImage) -> None:
        with self._lock:
            self._in_flight.discard(key)
        self._memory[key] = image
        self._memory.move_to_end(key)
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)
        self.loaded.emit(key, image)

    def forget(self) -> None:
        """Drop the in-memory thumbnails (files may have changed); the disk cache stays valid."""
        self._memory.clear()

    def stop(self, timeout_s: float) -> bool:
        """Drop the queued loads and wait timeout_s at most for those under way (at shutdown);
        whether they all ended."""
        with self._lock:
            self._pending.clear()
        return self._pool.waitForDone(max(0, int(timeout_s * 1000)))
