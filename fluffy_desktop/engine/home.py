"""Where Fluffy keeps its files: one home directory, nothing written anywhere else."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from fluffy_desktop.engine.errors import HomeUnwritable


def default_home() -> Path:
    """FLUFFY_HOME, else the platform's per-user data folder."""
    env = os.environ.get("FLUFFY_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("fluffy", appauthor=False))


@dataclass(frozen=True)
class Home:
    """The layout of a home directory."""

    root: Path

    @property
    def catalog(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def concepts_dir(self) -> Path:
        return self.root / "concepts"

    @property
    def inverters_dir(self) -> Path:
        return self.root / "inverters"

    @property
    def thumbnails_dir(self) -> Path:
        return self.root / "thumbnails"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def views_dir(self) -> Path:
        """Encoded views of the photos concepts learned from (concepts/views.py)."""
        return self.root / "views"

    @property
    def log_file(self) -> Path:
        """The current log (engine/logs.py); older ones beside it end in .1, .2."""
        return self.root / "logs" / "fluffy.log"

    def ensure(self) -> Home:
        """Create the home directory, or say plainly why it cannot be."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HomeUnwritable(f"cannot create home directory {self.root}: {_why(exc)}") from exc
        return self


def _why(exc: OSError) -> str:
    """The system's short reason for a failed file operation."""
    return exc.strerror or str(exc)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside target; on success it replaces target in one rename."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise HomeUnwritable(f"cannot write {target.parent}: {_why(exc)}") from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise HomeUnwritable(f"cannot write {target}: {_why(exc)}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write data to target atomically (temp file, fsync, rename)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_record(path: Path) -> dict[str, Any]:
    """A small JSON object the home keeps (remembered models, hub repositories, …): {} when
    the file is absent, unreadable or not an object."""
    try:
        known = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}
