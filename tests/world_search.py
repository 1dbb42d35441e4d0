"""Helpers for tests that search the world gallery (see the world_home fixture)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.evaluate.world.run import Setup, world_spec

CAT = 0  # the individual learned as "Fluffy": the world's cat
OWN = 6  # gallery photos of each individual: one per place


def owned(setup: Setup, paths) -> int:
    """How many of these gallery photos show Fluffy."""
    owner = {p.resolve(): o for p, o in zip(setup.gallery, setup.world.owners, strict=True)}
    return sum(owner[Path(p).resolve()] == CAT for p in paths)


def copy_home(home: Path, target: Path) -> Album:
    """An Album over a copy of the world home, for tests that change concepts."""
    shutil.copytree(home, target)
    return Album(target, world_spec("cpu"))
