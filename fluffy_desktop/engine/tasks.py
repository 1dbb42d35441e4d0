"""Long work reports progress through a plain callback and stops when a cancel flag is set."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from fluffy_desktop.engine.errors import Cancelled

In = TypeVar("In")
Out = TypeVar("Out")

# progress(stage, done, total): stage is a short human phrase ("Embedding photos").
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The progress callback used when nobody listens."""


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise Cancelled when the user has asked the work to stop."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


def ahead(
    pool: ThreadPoolExecutor, work: Callable[[In], Out], items: Iterable[In], window: int
) -> Generator[Out, None, None]:
    """Results of work(item) in order, with up to `window` items in flight ahead (closing
    the generator cancels those not started)."""
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
