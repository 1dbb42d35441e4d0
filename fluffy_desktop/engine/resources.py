"""Files shipped in the top-level resources/ folder (word lists, icons, desktop entry)."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]


def resources_dir() -> Path:
    """resources/ inside the package (a wheel), beside it (the source tree, an editable
    install) or in a PyInstaller bundle."""
    candidates = [PACKAGE / "resources", PACKAGE.parent / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)  # packaging/fluffy.spec puts them there
    if bundle:
        candidates.append(Path(bundle) / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("Fluffy's resources/ folder is missing from this installation")


def resource(relative: str) -> Path:
    return resources_dir() / relative


def word_list(relative: str) -> list[str]:
    """The lines of a shipped word list, stripped, without blank lines and # comments."""
    lines = resource(relative).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
