"""The log: a rotating file in the home directory, which crash reports point to."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path

from fluffy_desktop.engine.home import Home

MAX_BYTES = 1 << 20  # a file this big is renamed .1 (and .1 becomes .2)…
BACKUPS = 2  # …so the log never takes more than 3 MiB
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class _QuietFileHandler(RotatingFileHandler):
    """A log that fails quietly: a full or read-only disk must not add errors of its own."""

    def handleError(self, record: logging.LogRecord) -> None:
        """A record that cannot be written is dropped (the command's own error still shows)."""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


def _file_handler(path: Path) -> RotatingFileHandler | None:
    """A handler writing to path, or None when the home cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _QuietFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


@contextmanager
def log_to(home: Home) -> Iterator[Path | None]:
    """While in the block, log records go to home's log file: Fluffy's own from INFO, every
    library's from WARNING. Warnings and errors still reach stderr, as without a log. Yields
    the file, or None (and logs to stderr only) when the home cannot be written."""
    root, ours = logging.getLogger(), logging.getLogger("fluffy_desktop")
    handler = _file_handler(home.log_file)
    added = [h for h in (handler, logging.lastResort) if h is not None]
    level = ours.level
    ours.setLevel(logging.INFO)
    for each in added:
        root.addHandler(each)
    try:
        yield home.log_file if handler else None
    finally:
        for each in added:
            root.removeHandler(each)
        ours.setLevel(level)
        if handler:
            handler.close()
