"""Long work reports progress through a plain callback and stops when a cancel flag is set."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fluffy_desktop.engine.errors import Cancelled

# progress(stage, done, total): stage is a short human phrase ("Embedding photos").
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The progress callback used when nobody listens."""


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled when the user has asked the work to stop."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")
