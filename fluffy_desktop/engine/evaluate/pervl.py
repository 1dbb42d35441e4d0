"""The PerVL retrieval protocol: six methods ranked over the whole gallery for every caption.

Methods (PALAVRA.md): `text` (the kind word in the slot), `avgim` (mean shot embedding),
`avgim_text` (normalised sum of the two), `palavra_init` (the word f_θ predicts, or the kind
word without an inverter), `palavra_word` (that word after stage-2 tuning, alone, as in the
paper) and `palavra` (what the app searches with: that word joined by the mean shot at
query.PHOTO_WEIGHT). Concepts are spoken of as "<kind> *", as in queries. Shots: `shots`
photos drawn without replacement from the concept's pool with a seed made of `seed` and the
concept id (the whole pool if smaller).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.concepts.inverter import Inverter
from fluffy_desktop.engine.concepts.learn import LearnSettings, kind_word, learn_concept
from fluffy_desktop.engine.concepts.prompts import concept_slot, fill
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.evaluate.dataset import PervlSet, Query, load_pervl
from fluffy_desktop.engine.evaluate.masks import mask_quality
from fluffy_desktop.engine.evaluate.metrics import ranks, retrieval_metrics
from fluffy_desktop.engine.images import read_photo
from fluffy_desktop.engine.query import PHOTO_WEIGHT
from fluffy_desktop.engine.tasks import Progress, no_progress

METHODS = ("text", "avgim", "avgim_text", "palavra_init", "palavra_word", "palavra")
ENCODE_BATCH = 32


def sample_shots(pool: Sequence[Path], shots: int, seed: int, concept: str) -> list[Path]:
    """The concept's shots: the same for the same seed, whatever else is evaluated."""
    pool = sorted(pool)
    if len(pool) <= shots:
        return pool
    return random.Random(f"{seed}/{concept}").sample(pool, shots)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    unit: np.ndarray = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit


def encode_gallery(clip: ClipModel, gallery: Sequence[Path], progress: Progress) -> np.ndarray:
    parts = []
    for start in range(0, len(gallery), ENCODE_BATCH):
        progress("Encoding the gallery", start, len(gallery))
        batch = gallery[start : start + ENCODE_BATCH]
        parts.append(clip.encode_images([read_photo(p, clip.image_size) for p in batch]))
    progress("Encoding the gallery", len(gallery), len(gallery))
    return np.concatenate(parts)


@torch.no_grad()
def _with_word(clip: ClipModel, prompts: list[str], word: torch.Tensor) -> np.ndarray:
    words = torch.as_tensor(word).float().expand(len(prompts), -1)
    return clip.encode_prompts(prompts, words).float().cpu().numpy()


def concept_vectors(
    clip: ClipModel,
    kind: str,
    queries: Sequence[Query],
    shots: list,
    inverter: Inverter | None,
    settings: LearnSettings,
    library: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], torch.Tensor]:
    """Each method's query vectors (len(queries) × dim) for one concept's captions, and the
    learned word.

    `library`: the gallery's mean embedding, standing for the user's library as in the app
    (stage 2 contrasts with it only when the settings turn the library contrast on)."""
    shot_vectors = clip.encode_images(shots)
    average = normalise(shot_vectors.mean(axis=0))
    text = clip.encode_texts([fill(q.template, kind) for q in queries])
    prompts = [fill(q.template, concept_slot(kind)) for q in queries]
    init = inverter.predict(shot_vectors) if inverter else kind_word(clip, kind)
    word, _ = learn_concept(clip, kind, shots, (), inverter, library, settings)
    alone = _with_word(clip, prompts, word)
    vectors = {
        "text": text,
        "avgim": np.repeat(average[None], len(queries), axis=0),
        "avgim_text": normalise(average + text),
        "palavra_init": _with_word(clip, prompts, init),
        "palavra_word": alone,
        "palavra": normalise(alone + PHOTO_WEIGHT * average),
    }
    return vectors, word


def evaluate_set(
    clip: ClipModel,
    pervl: PervlSet,
    shots: int,
    seed: int,
    inverter: Inverter | None,
    settings: LearnSettings,
    progress: Progress,
) -> tuple[dict[str, dict[str, float]], dict[str, torch.Tensor]]:
    """Each method's metrics over every query of the set, and each concept's learned word."""
    gallery = encode_gallery(clip, pervl.gallery, progress)
    position = {path: i for i, path in enumerate(pervl.gallery)}
    by_concept: dict[str, list[Query]] = {}
    for query in pervl.queries:
        by_concept.setdefault(query.concept, []).append(query)
    vectors: dict[str, list[np.ndarray]] = {method: [] for method in METHODS}
    words: dict[str, torch.Tensor] = {}
    order: list[Query] = []
    for done, (concept, queries) in enumerate(by_concept.items()):
        progress("Learning the concepts", done, len(by_concept))
        picked = sample_shots(pervl.pools[concept], shots, seed, concept)
        images = [read_photo(path, clip.image_size) for path in picked]
        found, words[concept] = concept_vectors(
            clip, queries[0].kind, queries, images, inverter, settings, gallery.mean(axis=0)
        )
        for method in METHODS:
            vectors[method].append(found[method])
        order += queries
    progress("Learning the concepts", len(by_concept), len(by_concept))
    targets = np.array([position[q.image] for q in order])
    metrics = {
        method: retrieval_metrics(ranks(np.concatenate(vectors[method]) @ gallery.T, targets))
        for method in METHODS
    }
    return metrics, words


def run_pervl(
    clip: ClipModel,
    data: Path,
    captions: Path,
    coarse: Path | None = None,
    shots: int = 5,
    seed: int = 5,
    inverter: Inverter | None = None,
    learn_settings: LearnSettings | None = None,
    progress: Progress | None = None,
    masks: Path | None = None,
) -> dict:
    """The `eval pervl --json` document: metrics in percent for each method (and with masks,
    `locate`'s mean IoU: evaluate/masks.py)."""
    if shots < 1:
        raise FluffyError(f"--shots must be at least 1 (got {shots})")
    if masks is not None and not Path(masks).is_dir():
        raise FluffyError(f"--masks {masks} is not a folder")
    pervl = load_pervl(Path(data), Path(captions), Path(coarse) if coarse else None)
    settings = learn_settings or LearnSettings()
    progress = progress or no_progress
    methods, words = evaluate_set(clip, pervl, shots, seed, inverter, settings, progress)
    doc = {
        "dataset": pervl.dataset,
        "queries": len(pervl.queries),
        "methods": methods,
        "init": "inverter" if inverter else "kind word",
        "skipped": pervl.skipped,
    }
    if masks is not None:
        kinds = {q.concept: q.kind for q in pervl.queries}
        alone = {c: _with_word(clip, [concept_slot(kinds[c])], w)[0] for c, w in words.items()}
        doc["locate"] = mask_quality(clip, pervl, alone, Path(masks), progress)
    return doc


def format_table(doc: dict) -> str:
    """The eval document as a readable table (metrics in percent)."""
    lines = [
        f"PerVL {doc['dataset']}: {doc['queries']} queries, metrics in percent",
        f"  {'method':<14}{'MRR':>8}{'R@1':>8}{'R@5':>8}{'R@10':>8}",
    ]
    for method, values in doc["methods"].items():
        cells = "".join(f"{values[key]:>8.2f}" for key in ("mrr", "r1", "r5", "r10"))
        lines.append(f"  {method:<14}{cells}")
    start = "f_θ's word (inverter)" if doc.get("init") == "inverter" else "the kind word"
    lines.append(f"  palavra_init starts from {start}")
    if doc.get("skipped"):
        lines.append(f"  {doc['skipped']} caption rows had no image in this folder (other split)")
    if "locate" in doc:
        located = doc["locate"]
        lines.append(
            f"  locate: mean IoU {located['iou']:.2f} on {located['images']} masked images"
        )
    return "\n".join(lines)
