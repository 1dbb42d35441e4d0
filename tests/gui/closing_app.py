"""The app as `fluffy` runs it (gui.app.run), with its window closed while work is under way.

`python -m tests.gui.closing_app SCENARIO [FOLDER]`, the model and home taken from the FLUFFY_*
environment. Once the scenario's work is under way it prints "closing <time.monotonic()>",
closes the window, then prints "stopped <whether every worker ended within the limit>". How
long the process takes to end from there is for the caller to measure.

Scenarios: "download" (the hub, named by HF_ENDPOINT, should be slow), "indexing" FOLDER (each
embedding batch takes SLOW_BATCH_S, the engine's own cancel checks in between) and "stuck"
(work that ignores cancel).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.gui.app import application, run
from fluffy_desktop.gui.main_window import MainWindow

SLOW_BATCH_S = 0.5
Step = Callable[[MainWindow], object]


def slow_embedding(underway: threading.Event) -> None:
    """Every embedding batch takes SLOW_BATCH_S longer; underway is set at the first one."""
    encode = ClipModel.encode_image_batch

    def slow(self, pixels):
        underway.set()
        time.sleep(SLOW_BATCH_S)
        return encode(self, pixels)

    ClipModel.encode_image_batch = slow


def scenario(name: str, folder: Path | None) -> tuple[Step, Step, Step]:
    """(ready, start, underway) for a scenario: when its work can start, how, and when it runs."""
    if name == "download":
        return (
            lambda window: window.pages.currentWidget() is window.first_run,
            lambda window: window.first_run.download_button.click(),
            lambda window: window.first_run.status.text().startswith("Downloading"),
        )
    if name == "indexing":
        embedding = threading.Event()
        slow_embedding(embedding)
        return (
            lambda window: window.model_loaded and not window.jobs.busy(),
            lambda window: window.add_folders([folder]),
            lambda window: embedding.is_set(),
        )
    never = threading.Event()
    return (
        lambda window: window.model_loaded and not window.jobs.busy(),
        lambda window: window.jobs.start(lambda progress, cancel: never.wait(60)),
        lambda window: window.jobs.busy(),
    )


class Closer:
    """Polls the window: starts the work when it is ready, closes the window once it runs."""

    def __init__(self, steps: tuple[Step, Step, Step]):
        self.ready, self.start, self.underway = steps
        self.started = False
        self.timer = QTimer(interval=20)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        if not windows or not windows[0].isVisible():
            return
        window = windows[0]
        if not self.started and self.ready(window):
            self.started = True
            self.start(window)
        elif self.started and self.underway(window):
            self.timer.stop()
            print(f"closing {time.monotonic()}", flush=True)
            window.close()
            print(f"stopped {window.stopped}", flush=True)


if __name__ == "__main__":
    application()
    closer = Closer(scenario(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else None))
    run(Album())  # ends the process
