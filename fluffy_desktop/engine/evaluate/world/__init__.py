"""The semantic test world: a procedural world, a small CLIP trained on it, and its evaluation."""

from fluffy_desktop.engine.evaluate.world.ablations import run_ablations, train_world_inverter
from fluffy_desktop.engine.evaluate.world.ceiling import run_ceiling
from fluffy_desktop.engine.evaluate.world.model import train_world
from fluffy_desktop.engine.evaluate.world.report import (
    format_ablations,
    format_ceiling,
    format_world,
)
from fluffy_desktop.engine.evaluate.world.run import run_world, world_spec

__all__ = [
    "format_ablations",
    "format_ceiling",
    "format_world",
    "run_ablations",
    "run_ceiling",
    "run_world",
    "train_world",
    "train_world_inverter",
    "world_spec",
]
