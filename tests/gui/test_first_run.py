"""First start without model weights: a clear screen, and "Use a model file…" recovers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtWidgets import QFileDialog

from fluffy_desktop.engine.album import Album
from tests.gui.conftest import WAIT_MS, close_album, open_window, wait_idle


@pytest.fixture
def weightless(tmp_path, tiny_spec):
    album = Album(tmp_path / "home", replace(tiny_spec, weights=tmp_path / "missing.safetensors"))
    yield album
    close_album(album)


def test_first_run_screen_then_a_model_file(
    qtbot, weightless, tiny_model_files, tmp_path, monkeypatch
):
    window = open_window(qtbot, weightless)
    wait_idle(qtbot, window)
    assert window.pages.currentWidget() is window.first_run
    assert not window.toolbar.isVisible()

    junk = tmp_path / "junk.safetensors"
    junk.write_text("not a model")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(junk), ""))
    window.first_run.file_button.click()
    qtbot.waitUntil(lambda: not window.first_run.busy, timeout=WAIT_MS)
    message = window.first_run.status.text()
    assert "junk.safetensors" in message and "\n" not in message
    assert window.pages.currentWidget() is window.first_run

    weights = tiny_model_files[1]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(weights), ""))
    window.first_run.file_button.click()
    qtbot.waitUntil(lambda: window.pages.currentWidget() is window.splitter, timeout=WAIT_MS)
    assert window.toolbar.isVisible()
    assert weightless.spec.weights == weights
    assert (weightless.home.root / "settings.json").is_file()  # remembered for the next start


def test_download_failure_is_a_message_on_the_first_run_screen(
    qtbot, tmp_path, tiny_spec, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    spec = replace(tiny_spec, arch="ViT-B-32", pretrained="laion2b_s34b_b79k", weights=None)
    album = Album(tmp_path / "home", spec)
    try:
        window = open_window(qtbot, album)
        wait_idle(qtbot, window)
        assert window.pages.currentWidget() is window.first_run
        window.first_run.download_button.click()
        qtbot.waitUntil(lambda: not window.first_run.busy, timeout=WAIT_MS)
        message = window.first_run.status.text()
        assert "cannot be reached" in message and "\n" not in message
    finally:
        close_album(album)
