"""The identity each model spec loaded as, remembered in the home so that `status` can tell
which model the library's vectors and concepts belong to without loading the model."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from fluffy_desktop.engine.errors import HomeUnwritable
from fluffy_desktop.engine.home import atomic_write_bytes, read_record
from fluffy_desktop.engine.spec import ModelSpec


def spec_key(spec: ModelSpec) -> str | None:
    """What names the weights of a spec: a local file (with its size and time, so a file
    replaced under the same name is not taken for the old one) or a hub tag."""
    if spec.weights is not None:
        try:
            info = Path(spec.weights).stat()
        except OSError:
            return None
        return f"{spec.arch}|file|{Path(spec.weights).resolve()}|{info.st_size}|{info.st_mtime_ns}"
    return f"{spec.arch}|hub|{spec.pretrained}" if spec.pretrained else None


class KnownModels:
    """A small JSON file: spec key → model identity (ClipModel.identity)."""

    def __init__(self, file: Path):
        self.file = Path(file)

    def _read(self) -> dict[str, str]:
        return read_record(self.file)

    def identity(self, spec: ModelSpec) -> str | None:
        """The identity this spec loaded as before, if it did."""
        key = spec_key(spec)
        found = self._read().get(key) if key else None
        return found if isinstance(found, str) else None

    def remember(self, spec: ModelSpec, identity: str) -> None:
        """Note the identity (a home that cannot be written just does not remember)."""
        key = spec_key(spec)
        known = self._read()
        if key is None or known.get(key) == identity:
            return
        known[key] = identity
        with contextlib.suppress(HomeUnwritable):
            atomic_write_bytes(self.file, json.dumps(known, indent=1).encode())
