"""`fluffy eval world`: personal retrieval measured on the semantic test world.

Everything goes through the app's own path: the gallery is indexed by `Album.index` in a fresh
home, each held-out individual is learned from its five shots by `Album.learn` (starting from
the inverter when the user's home has one for this model), and queries run through
`Album.query_vector`. Queries are personal and in context, "⟨Name⟩ on the beach": the
individual's own photo in that place is the single right answer, so its photos elsewhere and
its look-alikes in that place are misses, as in PerVL.

Methods: `text` ("a cat on the beach"), `avgim` (the mean shot), `avgim_text` (their normalised
sum), `palavra_init` (the first guess: f_θ's, or the kind word), `palavra_word` (the tuned word
alone, as in the paper) and `palavra` (what the app does: the word joined by the examples' mean
photo, query.PHOTO_WEIGHT). Also: identity precision@6 of "⟨Name⟩" alone (the individual is
in 6 gallery photos), `locate`'s masks against the true ones (world/locating.py), search with
regions on a set of small things (world/small.py), and each concept's album against the truth
before and after review (world/tagging.py), and what the model itself can see: zero-shot kind
and colour (world/zero_shot.py).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ModelSpec
from fluffy_desktop.engine.concepts.learn import LearnSettings, kind_word
from fluffy_desktop.engine.evaluate.metrics import identity_precision, ranks, retrieval_metrics
from fluffy_desktop.engine.evaluate.pervl import METHODS, normalise
from fluffy_desktop.engine.evaluate.world.gallery import WorldSet, build_world_set, write_images
from fluffy_desktop.engine.evaluate.world.locating import locate_quality
from fluffy_desktop.engine.evaluate.world.model import shipped_model
from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES, PLACES
from fluffy_desktop.engine.evaluate.world.small import regions_quality
from fluffy_desktop.engine.evaluate.world.tagging import tagging_quality
from fluffy_desktop.engine.evaluate.world.zero_shot import zero_shot_quality
from fluffy_desktop.engine.query import parse_query, query_vector
from fluffy_desktop.engine.tasks import Progress, no_progress


def world_spec(device: str = "auto") -> ModelSpec:
    """The shipped world model, loaded through the same local-file path as real weights."""
    config, weights = shipped_model()
    return ModelSpec(str(config), None, weights, device)


@dataclass
class Setup:
    """The indexed gallery of one evaluation run, in gallery order."""

    album: Album
    world: WorldSet
    gallery: list[Path]
    shots: list[list[Path]]
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def indexed_vectors(album: Album, paths: list[Path]) -> np.ndarray:
    """The indexed vector of each of these photos, in this order."""
    ids = album.catalog.vector_ids().tolist()
    by_path = {record.path.resolve(): pid for pid, record in album.catalog.photos_for(ids).items()}
    order = [by_path[path.resolve()] for path in paths]
    return album.catalog.vectors_for(order)


def prepare(
    folder: Path, seed: int, spec: ModelSpec, inverters: Path | None, progress: Progress
) -> Setup:
    """Draw the set for a seed into folder, open a fresh home there and index the gallery."""
    world = build_world_set(seed)
    progress("Drawing the world", 0, 1)
    gallery, shots = write_images(world, folder)
    progress("Drawing the world", 1, 1)
    album = Album(folder / "home", spec)
    if inverters is not None and inverters.is_dir():
        shutil.copytree(inverters, album.home.inverters_dir, dirs_exist_ok=True)
    album.index([gallery[0].parent], progress)
    return Setup(album, world, gallery, shots, indexed_vectors(album, gallery))


@contextmanager
def prepared(
    seed: int, spec: ModelSpec | None, inverters: Path | None, progress: Progress
) -> Iterator[Setup]:
    """The set for a seed, indexed in a scratch home (the world model unless spec names
    another) that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="fluffy-world-") as scratch:
        setup = prepare(Path(scratch), seed, spec or world_spec(), inverters, progress)
        with setup.album:
            yield setup


def method_queries(setup: Setup, number: int, phrases: list[str]) -> dict[str, np.ndarray]:
    """Each method's query vectors for one individual, one row per phrase ("" = alone)."""
    album, world = setup.album, setup.world
    name, kind = world.names[number], world.individuals[number].kind
    clip = album.clip()
    shots = np.stack([album.photo_vector(path) for path in setup.shots[number]])
    average = normalise(shots.mean(axis=0))
    text = clip.encode_texts([" ".join(f"a {kind} {phrase}".split()) for phrase in phrases])
    guess = album.inverter_guess(shots)
    first = {name: kind_word(clip, kind) if guess is None else guess}
    texts = [" ".join(f"{name} {phrase}".split()) for phrase in phrases]
    word = {name: album.concepts.get(name).word}
    return {
        "text": text,
        "avgim": np.repeat(average[None], len(phrases), axis=0),
        "avgim_text": normalise(average + text),
        "palavra_init": np.stack(
            [query_vector(clip, parse_query(t, {name: kind}), first) for t in texts]
        ),
        "palavra_word": np.stack(
            [query_vector(clip, parse_query(t, {name: kind}), word) for t in texts]
        ),
        "palavra": np.stack([album.query_vector(t) for t in texts]),
    }


def learn_all(setup: Setup, settings: LearnSettings, progress: Progress) -> float:
    """Learn every individual through Album.learn; the mean seconds per concept."""
    seconds = []
    world = setup.world
    for number, (name, individual) in enumerate(zip(world.names, world.individuals, strict=True)):
        progress("Learning the individuals", number, len(world.names))
        report = setup.album.learn(name, individual.kind, setup.shots[number], settings=settings)
        seconds.append(report.seconds)
    progress("Learning the individuals", len(world.names), len(world.names))
    return float(np.mean(seconds))


def retrieval(setup: Setup) -> tuple[dict, dict]:
    """(in-context metrics per method, identity precision@k per method), in percent."""
    world, gallery = setup.world, setup.vectors
    phrases = [PLACE_PHRASES[place] for place in PLACES]
    scores: dict[str, list[np.ndarray]] = {method: [] for method in METHODS}
    identity: dict[str, list[float]] = {method: [] for method in METHODS}
    targets = []
    owners = np.array(world.owners)
    for number in range(len(world.individuals)):
        queries = method_queries(setup, number, [*phrases, ""])
        own = owners == number
        for method in METHODS:
            scores[method].append(queries[method][:-1] @ gallery.T)
            identity[method].append(identity_precision(own, gallery @ queries[method][-1]))
        targets += [world.target(number, place) for place in PLACES]
    target = np.array(targets)
    metrics = {m: retrieval_metrics(ranks(np.concatenate(scores[m]), target)) for m in METHODS}
    precision = {m: round(100.0 * float(np.mean(identity[m])), 4) for m in METHODS}
    return metrics, precision


def run_world(
    seed: int = 0,
    spec: ModelSpec | None = None,
    inverters: Path | None = None,
    settings: LearnSettings | None = None,
    progress: Progress | None = None,
) -> dict:
    """The `eval world --json` document (metrics in percent)."""
    progress = progress or no_progress
    started = time.perf_counter()
    with prepared(seed, spec, inverters, progress) as setup:
        clip = setup.album.clip()
        learn_seconds = learn_all(setup, settings or LearnSettings(), progress)
        with torch.no_grad():
            methods, identity = retrieval(setup)
            zero_shot = zero_shot_quality(setup)
        located = locate_quality(setup, progress)
        regions = regions_quality(setup, seed, progress)
        init = setup.album.concepts.get(setup.world.names[0]).settings.get("init")
        tagging = tagging_quality(setup, seed, progress)  # last: its answers re-tune the concepts
    return {
        "dataset": "world",
        "queries": len(setup.world.individuals) * len(PLACES),
        "methods": methods,
        "identity_precision": identity,
        "locate": located,
        "regions": regions,
        "tagging": tagging,
        "zero_shot": zero_shot,
        "units": "percent",
        "seed": seed,
        "individuals": len(setup.world.individuals),
        "gallery": len(setup.world.gallery),
        "model": clip.identity,
        "init": init,
        "learn_seconds": round(learn_seconds, 3),
        "seconds": round(time.perf_counter() - started, 1),
    }
