"""`fluffy eval world --ablations`: stage-2 choices measured on one indexed world gallery.

Each variant changes one setting of the app's default `LearnSettings`, re-learns every held-out
individual through `Album.learn`, and reports palavra's in-context metrics and identity
precision. The gallery is indexed once per seed.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ModelSpec
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.evaluate.world.places import PLACES
from fluffy_desktop.engine.evaluate.world.run import learn_all, prepared, retrieval
from fluffy_desktop.engine.evaluate.world.scene import render, scene_of
from fluffy_desktop.engine.evaluate.world.things import KINDS, random_individual
from fluffy_desktop.engine.tasks import Progress, no_progress

VARIANTS: dict[str, dict] = {
    "default": {},
    "loss=paper": {"loss": "paper"},
    "loss=both": {"loss": "both"},
    "library contrast": {"library_contrast": True},
    "kind-word init": {"use_inverter": False},
    "steps=10": {"steps": 10},
    "steps=10, kind-word init": {"steps": 10, "use_inverter": False},
    "steps=60": {"steps": 60},
    "lr=0.003": {"lr": 0.003},
    "lr=0.03": {"lr": 0.03},
    "views=0": {"augmentations": 0},
    "views=4": {"augmentations": 4},
}


def run_ablations(
    seed: int = 0,
    spec: ModelSpec | None = None,
    inverters: Path | None = None,
    progress: Progress | None = None,
) -> dict:
    """{"seed", "variants": {name: {"mrr", "r1", "identity", "learn_seconds"}}} in percent."""
    progress = progress or no_progress
    started = time.perf_counter()
    variants = {}
    with prepared(seed, spec, inverters, progress) as setup:
        for name, change in VARIANTS.items():
            progress(f"Variant: {name}", 0, 1)
            seconds = learn_all(setup, replace(LearnSettings(), **change), no_progress)
            with torch.no_grad():
                methods, identity = retrieval(setup)
            variants[name] = {
                "mrr": methods["palavra"]["mrr"],
                "r1": methods["palavra"]["r1"],
                "identity": identity["palavra"],
                "learn_seconds": round(seconds, 3),
            }
        baselines = {m: methods[m]["mrr"] for m in ("text", "avgim", "avgim_text")}
    return {
        "seed": seed,
        "variants": variants,
        "baselines_mrr": baselines,
        "units": "percent",
        "seconds": round(time.perf_counter() - started, 1),
    }


def write_training_classes(folder: Path, classes: int, per_class: int, seed: int) -> None:
    """Photos of training-world individuals (never held-out ones), one folder per individual,
    named by its fullest description, for `inverter train --images`."""
    rng = random.Random(f"fluffy-world-inverter/{seed}")
    for _ in range(classes):
        individual = random_individual(rng, rng.choice(KINDS), held_out=False)
        target = folder / individual.describe()
        if target.exists():
            continue
        target.mkdir(parents=True)
        for number in range(per_class):
            scene = scene_of([individual], rng.choice(PLACES), rng)
            render(scene).image.save(target / f"{number}.png")


def train_world_inverter(album: Album, steps: int, width: int, progress: Progress) -> dict:
    """Train f_θ for the album's model on world photos of training individuals."""
    with tempfile.TemporaryDirectory(prefix="fluffy-world-classes-") as scratch:
        progress("Drawing training individuals", 0, 1)
        write_training_classes(Path(scratch), classes=400, per_class=10, seed=0)
        progress("Drawing training individuals", 1, 1)
        return album.train_inverter(Path(scratch), steps, width, progress)
