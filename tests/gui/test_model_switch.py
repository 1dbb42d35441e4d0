"""A change of model in the app: the library re-embeds and the concepts re-learn in the
background, a banner says how far it is, and a search meanwhile says why it finds little."""

from __future__ import annotations

import os

import pytest

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.concepts.learn import LearnSettings
from tests.gui.conftest import WAIT_MS, close_album, open_window, wait_idle
from tests.gui.dropping import drop_files
from tests.gui.timing import Hold

SCREENSHOT = os.environ.get("FLUFFY_BANNER_SCREENSHOT")  # where to keep the banner's picture


@pytest.fixture
def switched(tmp_path, tiny_spec, other_tiny_spec, library):
    """A home indexed, with "Fluffy" learned, on the first tiny model; opened with the second."""
    home = tmp_path / "home"
    with Album(home, tiny_spec) as first:
        first.index([library[0]])
        first.learn("Fluffy", "cat", library[1][:3], settings=LearnSettings(steps=3))
    album = Album(home, other_tiny_spec)
    yield album
    close_album(album)


def test_after_a_switch_the_app_re_embeds_and_re_learns_and_says_how_far(
    qtbot, monkeypatch, switched, tmp_path
):
    clip = switched.clip()
    held = Hold(clip.encode_image_batch, timeout=WAIT_MS / 1000)  # re-embedding waits here
    monkeypatch.setattr(clip, "encode_image_batch", held)
    window = open_window(qtbot, switched)
    qtbot.waitUntil(held.waiting, timeout=WAIT_MS)
    banner = window.banner
    expected = "Re-embedding your photos for the new model: 0 of 24 done."
    qtbot.waitUntil(lambda: expected in banner.label.text(), timeout=WAIT_MS)
    assert banner.isVisible() and "To re-learn for the new model: Fluffy." in banner.label.text()
    assert window.count_label.text() == "0 of 24 photos ready"

    window.search_bar.search_for("a photo")
    empty = window.empty
    qtbot.waitUntil(lambda: empty.isVisible(), timeout=WAIT_MS)
    assert empty.title.text() == "Not re-embedded yet" and "0 of 24 done" in empty.advice.text()
    window.grab().save(SCREENSHOT or str(tmp_path / "banner.png"))
    window.search_bar.search_for("Fluffy on the sofa")
    message = "was learned with another model and is not re-learned for this one yet"
    qtbot.waitUntil(lambda: message in window.statusBar().currentMessage(), timeout=WAIT_MS)

    held.release.set()
    qtbot.waitUntil(lambda: not banner.isVisible() and not window.jobs.busy(), timeout=WAIT_MS)
    status = switched.status()
    assert (status["embedded"], status["concept_states"]) == (24, {"Fluffy": "ready"})
    assert window.query_concepts == ["Fluffy"]  # the search ran again once Fluffy was re-learned
    assert window.model.rowCount() > 0


def test_stopped_re_embedding_can_go_on_from_the_banner(qtbot, monkeypatch, switched):
    clip = switched.clip()
    held = Hold(clip.image_tensor, timeout=WAIT_MS / 1000)  # before any photo is embedded
    monkeypatch.setattr(clip, "image_tensor", held)
    window = open_window(qtbot, switched)
    qtbot.waitUntil(held.waiting, timeout=WAIT_MS)
    window.progress.cancel()
    held.release.set()
    qtbot.waitUntil(lambda: window.banner.resume_button.isVisible(), timeout=WAIT_MS)
    assert "To re-embed your photos for the new model" in window.banner.label.text()

    window.banner.resume_button.click()
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=WAIT_MS)
    wait_idle(qtbot, window)
    assert switched.status()["embedded"] == 24


def test_naming_a_concept_like_an_ordinary_word_warns_in_the_dialog(qtbot, window, library):
    assert drop_files(window.side.drop_area, library[1][:2])
    dialog = window.concept_dialog
    note = dialog.name_note
    dialog.name_field.setText("Cat")
    qtbot.waitUntil(lambda: note.isVisible(), timeout=WAIT_MS)
    assert "ordinary word" in note.text() and "@Cat or [Cat]" in note.text()
    dialog.name_field.setText("Mr Whiskers")
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=WAIT_MS)
    dialog.reject()
