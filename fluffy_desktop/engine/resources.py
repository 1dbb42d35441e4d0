"""Files shipped in the top-level resources/ folder (word lists, icons, desktop entry)."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """resources/ beside the package (source or editable install), or inside a bundle."""
    candidates = [
        Path(__file__).resolve().parents[2] / "resources",
        Path(getattr(sys, "_MEIPASS", sys.prefix)) / "resources",
        Path(sys.prefix) / "share" / "fluffy" / "resources",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("Fluffy's resources/ folder is missing from this installation")


def resource(relative: str) -> Path:
    return resources_dir() / relative
