"""A concept's menu: export tags to XMP sidecars, and copy its photos to a folder."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

from fluffy_desktop.engine.sidecars import sidecar_path
from tests.gui.conftest import WAIT_MS, wait_idle


def _say_yes(monkeypatch) -> list[str]:
    """Answer Yes to every question; the questions' texts, as asked."""
    asked: list[str] = []
    yes = QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or yes)
    return asked


def test_export_tags_asks_first_then_reports_what_it_wrote(qtbot, window, library, monkeypatch):
    photos = sorted(library[0].rglob("*.jpg"))
    window.album.learn("Fluffy", "cat", photos[:2])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.concept_actions.run("tags", "Fluffy")
    wait_idle(qtbot, window)
    assert not any(sidecar_path(p).exists() for p in photos)
    asked = _say_yes(monkeypatch)
    window.concept_actions.run("tags", "Fluffy")
    qtbot.waitUntil(
        lambda: "sidecars written" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    _, members = window.album.concept_photos("Fluffy")
    written = [p for p in photos if sidecar_path(p).exists()]
    assert sorted(written) == sorted(m.path for m in members if m.path in photos)
    assert f"• {len(written)} new sidecars\n• added to 0 existing sidecars" in asked[0]
    assert f"Fluffy: {len(written)} sidecars written, 0 merged, 0 skipped." == (
        window.statusBar().currentMessage()
    )
    window.concept_actions.run("tags", "Fluffy")  # again: nothing left to write, nothing asked
    qtbot.waitUntil(lambda: "already has" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert len(asked) == 1


def test_export_tags_names_the_sidecars_it_could_not_read(qtbot, window, library, monkeypatch):
    photos = sorted(library[0].rglob("*.jpg"))
    window.album.learn("Fluffy", "cat", photos[:2])
    sidecar_path(photos[0]).write_text("not xml <")
    asked, warned = _say_yes(monkeypatch), []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warned.append(a[2]))
    window.concept_actions.run("tags", "Fluffy")
    qtbot.waitUntil(lambda: bool(warned), timeout=WAIT_MS)
    assert "• 1 unreadable sidecar left alone" in asked[0]
    assert str(sidecar_path(photos[0])) in warned[0] and "cannot read" in warned[0]
    assert sidecar_path(photos[0]).read_text() == "not xml <"
    assert "1 skipped." in window.statusBar().currentMessage()


def test_copy_puts_the_album_in_the_chosen_folder_and_reports_it(
    qtbot, window, library, monkeypatch, tmp_path
):
    photos = sorted(library[0].rglob("*.jpg"))
    window.album.learn("Fluffy", "cat", photos[:2])
    target = tmp_path / "Fluffy album"
    target.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(target))
    monkeypatch.setattr(QMessageBox, "exec", lambda box: 0)
    monkeypatch.setattr(
        QMessageBox,
        "clickedButton",
        lambda box: next(b for b in box.buttons() if b.text() == "Copy"),
    )
    window.concept_actions.run("copy", "Fluffy")
    qtbot.waitUntil(lambda: "copied to" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    _, members = window.album.concept_photos("Fluffy")
    assert sorted(p.name for p in target.iterdir()) == sorted(m.path.name for m in members)
    assert window.statusBar().currentMessage() == (
        f"Fluffy: {len(members)} photos copied to {target}, 0 skipped."
    )
    assert all(p.is_file() for p in photos)  # the originals stay where they were
