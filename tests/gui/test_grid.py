"""The grid's model and view at scale, and the thumbnail loader with its disk cache."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from fluffy_desktop.gui import thumbnails as thumbnails_module
from fluffy_desktop.gui.grid import GridItem, PhotoGrid, PhotoModel
from fluffy_desktop.gui.thumbnails import Thumbnails
from tests.gui.conftest import WAIT_MS
from tests.gui.timing import GapMeter

ROWS = 100_000


class CountingThumbnails(Thumbnails):
    """Records which photos the view asked thumbnails for, and never loads any."""

    def __init__(self, cache_dir: Path):
        super().__init__(cache_dir)
        self.asked: set[Path] = set()

    def get(self, path: Path):
        self.asked.add(path)


def test_100k_rows_cost_a_list_and_only_visible_thumbnails(qtbot, tmp_path):
    thumbnails = CountingThumbnails(tmp_path)
    model = PhotoModel(thumbnails)
    items = [GridItem(Path(f"/photos/{i:06d}.jpg"), "2020-01-01T00:00:00") for i in range(ROWS)]
    model.set_items(items)
    assert model.rowCount() == ROWS

    started = time.perf_counter()
    for row in range(0, ROWS, 10):
        model.data(model.index(row), Qt.ItemDataRole.DisplayRole)
    assert (time.perf_counter() - started) / (ROWS / 10) < 500e-6  # O(1), not a scan per call

    grid = PhotoGrid(model)
    qtbot.addWidget(grid)
    grid.resize(1000, 700)
    last = model.index(ROWS - 1)
    with GapMeter() as layout:  # laid out in batches, between events
        grid.show()
        qtbot.waitUntil(lambda: grid.visualRect(last).isValid(), timeout=WAIT_MS)
        grid.resize(1200, 700)
        qtbot.wait(300)
    assert layout.longest < 0.25, f"the UI was blocked for {layout.longest * 1000:.0f} ms"
    bottom = Path(f"/photos/{ROWS - 1:06d}.jpg")

    def painted_the_bottom() -> bool:
        thumbnails.asked.clear()
        grid.scrollToBottom()  # the batched re-layout after the resize may still be going on
        grid.viewport().grab()  # paints the visible cells
        return bottom in thumbnails.asked

    qtbot.waitUntil(painted_the_bottom, timeout=WAIT_MS)
    assert 0 < len(thumbnails.asked) < 100  # the rows on screen, not 100,000
    assert len(grid.findChildren(QWidget)) < 20  # no widget per row


def test_thumbnails_load_off_thread_and_come_back_from_the_disk_cache(qtbot, tmp_path, library):
    photos = library[1][:3]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    cache = tmp_path / "thumbs"
    first = Thumbnails(cache)
    with qtbot.waitSignals([first.loaded] * 4, timeout=WAIT_MS):
        for path in [*photos, broken]:
            assert first.get(path) is None
    assert all(not first.get(p).isNull() for p in photos)
    assert first.get(broken).isNull()
    cached = sorted(cache.rglob("*.jpg"))
    assert len(cached) == len(photos)

    second = Thumbnails(cache)
    with qtbot.waitSignal(second.loaded, timeout=WAIT_MS) as blocker:
        second.get(photos[0])
    assert blocker.args[0] == str(photos[0]) and not blocker.args[1].isNull()
    assert sorted(cache.rglob("*.jpg")) == cached


def test_stopping_thumbnails_drops_the_queue_and_waits_only_for_loads_under_way(
    qtbot, tmp_path, monkeypatch
):
    def slow(path: Path, cache_dir: Path) -> QImage:
        time.sleep(0.1)
        return QImage()

    monkeypatch.setattr(thumbnails_module, "render_thumbnail", slow)
    thumbnails = Thumbnails(tmp_path)
    for i in range(100):  # 5 s of loading on two threads
        thumbnails.get(tmp_path / f"{i}.jpg")
    started = time.monotonic()
    assert thumbnails.stop(timeout_s=WAIT_MS / 1000)
    assert time.monotonic() - started < 2.0  # the two loads under way, not the queue
