"""A concept's menu: export tags to XMP sidecars, and copy its photos to a folder."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from fluffy_desktop.engine.sidecars import sidecar_path
from tests.gui.conftest import WAIT_MS, wait_idle


def test_export_tags_asks_first_then_reports_what_it_wrote(qtbot, window, library, monkeypatch):
    photos = sorted(library[0].rglob("*.jpg"))
    window.album.learn("Fluffy", "cat", photos[:2])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.concept_actions.run("tags", "Fluffy")
    wait_idle(qtbot, window)
    assert not any(sidecar_path(p).exists() for p in photos)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.concept_actions.run("tags", "Fluffy")
    qtbot.waitUntil(
        lambda: "sidecars written" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    _, members = window.album.concept_photos("Fluffy")
    written = [p for p in photos if sidecar_path(p).exists()]
    assert sorted(written) == sorted(m.path for m in members if m.path in photos)
    assert f"Fluffy: {len(written)} sidecars written, 0 merged, 0 skipped." == (
        window.statusBar().currentMessage()
    )
