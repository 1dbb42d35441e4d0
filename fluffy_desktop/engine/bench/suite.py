"""run_bench: each measurement of the speed suite, on a throwaway home inside workdir."""

from __future__ import annotations

import inspect
import random
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import open_clip
import torch

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.bench.cold import cold_start
from fluffy_desktop.engine.bench.photos import PHONE_SIZE, bench_photos
from fluffy_desktop.engine.bench.synthetic import (
    ClusteredVectors,
    exact_top_k,
    normalise,
    recall_at_k,
)
from fluffy_desktop.engine.catalog import PhotoUpdate
from fluffy_desktop.engine.clip import ClipModel, ModelSpec, pick_device
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.images import read_photo
from fluffy_desktop.engine.ingest import index_library
from fluffy_desktop.engine.memory import peak_rss_mb
from fluffy_desktop.engine.regions import REGIONS
from fluffy_desktop.engine.tasks import Progress, no_progress

T = TypeVar("T")

BENCH_KEYS = (
    "raw_images_per_s",
    "index_images_per_s",
    "regions_images_per_s",
    "query_ms_p50",
    "query_ms_p95",
    "recall_at_10",
    "learn_seconds",
    "answer_seconds",
    "locate_ms_p50",
    "locate_ms_p95",
    "peak_rss_mb",
    "cold_start_s",
    "search_rss_mb",
    "device",
    "model",
    "n_vectors",
)
# Raw encoding uses the batch size the ingest pipeline uses.
BATCH_SIZE = inspect.signature(index_library).parameters["batch_size"].default
SUBJECTS = (
    "cat",
    "dog",
    "child",
    "grandmother",
    "bicycle",
    "birthday cake",
    "red car",
    "tent",
    "sailing boat",
    "snowman",
    "wedding couple",
    "old bridge",
)
SCENES = (
    "on the sofa",
    "in the garden",
    "at the beach",
    "in the snow",
    "at night",
    "indoors",
    "in the rain",
    "on a mountain path",
    "next to a window",
)
PHRASINGS = ("a {} {}", "a photo of a {} {}")
CONCEPT = ("Benchy", "cat")
LEARN_SHOTS = 5
ANSWERED = 3  # review answers timed after learning: two "yes" at once, then one "no"
WARM_QUERIES = 10
TIMED_QUERIES = 200
LOCATE_PHOTOS = 10  # timed `locate` calls, one photo each (after one warm-up)
RECALL_QUERIES = 200


def random_weights_clip(arch: str = "ViT-B-32", device: str = "cpu") -> ClipModel:
    """The real architecture with random weights (fixed seed): real cost, meaningless results.

    `device` as in --device (auto, cpu, cuda, mps). Its identity says "(random weights)", so
    nothing it makes passes for a real model's work.
    """
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    clip = ClipModel.from_open_clip(model, preprocess, arch, pick_device(device))
    clip.identity = f"{arch} (random weights)"
    return clip


def bench_album(home: Path, clip: ClipModel) -> Album:
    """An Album on a fresh home that uses this already loaded model."""
    spec = ModelSpec(arch=clip.arch, pretrained=None, weights=None, device=str(clip.device))
    return Album(home, spec, clip=clip)


def queries() -> list[str]:
    """Distinct free-text queries in a fixed shuffled order (so a query cache cannot help);
    some name the learned concept."""
    texts = [p.format(s, where) for p in PHRASINGS for s in SUBJECTS for where in SCENES]
    texts += [f"{CONCEPT[0]} {where}" for where in SCENES]
    random.Random(0).shuffle(texts)
    return texts


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def raw_rate(clip: ClipModel, photos: list[Path]) -> float:
    """Images per second of encode_image alone, on preprocessed batches (after a warm-up)."""
    tensors = []
    for path in photos:
        tensors.append(clip.image_tensor(read_photo(path, clip.image_size)))
    batches = [torch.stack(tensors[i : i + BATCH_SIZE]) for i in range(0, len(tensors), BATCH_SIZE)]
    clip.encode_image_batch(batches[0])
    _, seconds = _timed(lambda: [clip.encode_image_batch(batch) for batch in batches])
    return len(tensors) / seconds


def _synthetic_photos(home: Path, start: int, vectors: np.ndarray) -> list[PhotoUpdate]:
    """Catalog rows for synthetic vectors: photos that exist only in the catalog and index."""
    return [
        PhotoUpdate(home / "synthetic" / f"{start + i:07d}.jpg", 0, 0.0, None, "", vector=v)
        for i, v in enumerate(vectors)
    ]


def _synthetic_regions(
    ids: list[int], vectors: np.ndarray, library: ClusteredVectors
) -> dict[int, np.ndarray]:
    """REGIONS vectors near each synthetic photo's, so a concept query reads real rows."""
    noise = library.sample(len(ids) * REGIONS).reshape(len(ids), REGIONS, -1)
    near = normalise((vectors[:, None, :] + 0.5 * noise).reshape(len(ids) * REGIONS, -1))
    return dict(zip(ids, near.reshape(len(ids), REGIONS, -1), strict=True))


def _fill_index(
    album: Album, n: int, progress: Progress
) -> tuple[np.ndarray, np.ndarray, ClusteredVectors]:
    """Add clustered vectors around the library's and the queries' embeddings until the
    library holds n, written like indexing writes them (catalog, then index) and saved;
    returns the ids and vectors in it, and their generator."""
    clip, index = album.clip(), album.vector_index()
    photo_ids, photo_vectors = album.catalog.all_vectors()
    seeds = np.concatenate([photo_vectors, clip.encode_texts(queries())])
    library = ClusteredVectors(seeds, max(0, n - len(index)), np.random.default_rng(0))
    vectors = np.empty((len(photo_ids) + library.n, clip.dim), dtype=np.float32)
    vectors[: len(photo_ids)] = photo_vectors
    ids = [photo_ids]
    added = 0
    for chunk in library.chunks():
        progress("Filling the library", added, library.n)
        seq, chunk_ids = album.catalog.store(_synthetic_photos(album.home.root, added, chunk))
        index.add(chunk_ids, chunk, seq=seq)
        album.catalog.store_regions(_synthetic_regions(chunk_ids, chunk, library))
        start = len(photo_ids) + added
        vectors[start : start + len(chunk)] = chunk
        ids.append(np.asarray(chunk_ids, dtype=np.int64))
        added += len(chunk)
    progress("Filling the library", added, library.n)
    index.save()
    return np.concatenate(ids), vectors, library


def query_times(album: Album, progress: Progress) -> list[float]:
    """Milliseconds of warm `search` calls (text encoding included), k = 20, each query new."""
    texts = queries()
    for text in texts[:WARM_QUERIES]:
        album.search(text, 20)
    times = []
    for i, text in enumerate(texts[WARM_QUERIES : WARM_QUERIES + TIMED_QUERIES]):
        progress("Timing queries", i, TIMED_QUERIES)
        _, seconds = _timed(partial(album.search, text, 20))
        times.append(seconds * 1000)
    return times


def answer_time(album: Album, photos: list[Path], progress: Progress) -> float:
    """Seconds from a review answer to the updated album (the slower of two "yes" photos at
    once and one "no"), right after learning, as in the app's review."""
    progress("Timing review answers", 0, 2)
    confirmed = album.answer(CONCEPT[0], photos[:2], True)
    progress("Timing review answers", 1, 2)
    rejected = album.answer(CONCEPT[0], photos[2:], False)
    progress("Timing review answers", 2, 2)
    return float(max(confirmed["seconds"], rejected["seconds"]))


def locate_times(album: Album, photos: list[Path], progress: Progress) -> list[float]:
    """Milliseconds of `locate` for the learned concept, each on a photo of the library
    (decoding and the photo-sized mask included)."""
    album.locate(CONCEPT[0], photos[0])
    times = []
    for i, photo in enumerate(photos[1 : LOCATE_PHOTOS + 1]):
        progress("Timing locate", i, LOCATE_PHOTOS)
        _, seconds = _timed(partial(album.locate, CONCEPT[0], photo))
        times.append(seconds * 1000)
    return times


def index_recall(
    album: Album, ids: np.ndarray, vectors: np.ndarray, library: ClusteredVectors
) -> float:
    """Recall@10 of the index against exact search, on held-out vectors and query texts."""
    held_out = library.sample(RECALL_QUERIES // 2) if library.n else vectors[: RECALL_QUERIES // 2]
    texts = album.clip().encode_texts(queries())
    probes = normalise(np.concatenate([held_out, texts]))[:RECALL_QUERIES]
    truth = [set(ids[row].tolist()) for row in exact_top_k(vectors, probes, 10)]
    index = album.vector_index()
    found = [[i for i, _ in index.search(probe, 10)] for probe in probes]
    return recall_at_k(found, truth)


def measure_album(
    album: Album, folder: Path, photos: list[Path], vectors: int, progress: Progress
) -> dict:
    """Indexing, learning, queries and recall on a fresh album (the bench document's part)."""
    report = album.index([folder], progress)
    _, learn_seconds = _timed(
        lambda: album.learn(*CONCEPT, photos[:LEARN_SHOTS], progress=progress)
    )
    answer_seconds = answer_time(album, photos[LEARN_SHOTS : LEARN_SHOTS + ANSWERED], progress)
    located = locate_times(album, photos, progress)
    ids, all_vectors, library = _fill_index(album, vectors, progress)
    times = query_times(album, progress)
    return {
        "index_images_per_s": round(report.added / (report.seconds - report.regions_seconds), 2),
        "regions_images_per_s": round(report.regions / report.regions_seconds, 2),
        "query_ms_p50": round(float(np.percentile(times, 50)), 2),
        "query_ms_p95": round(float(np.percentile(times, 95)), 2),
        "recall_at_10": round(index_recall(album, ids, all_vectors, library), 4),
        "learn_seconds": round(learn_seconds, 2),
        "answer_seconds": round(answer_seconds, 2),
        "locate_ms_p50": round(float(np.percentile(located, 50)), 1),
        "locate_ms_p95": round(float(np.percentile(located, 95)), 1),
        "n_vectors": len(album.vector_index()),
    }


def run_bench(
    clip: ClipModel,
    workdir: Path,
    photos: int = 200,
    vectors: int = 100_000,
    progress: Progress | None = None,
    photo_size: tuple[int, int] = PHONE_SIZE,
) -> dict:
    """Run the speed suite; returns the `bench --json` document (BENCH_KEYS, in order).

    The photos are kept in workdir for the next run; the album home is deleted afterwards.
    """
    if photos < LEARN_SHOTS + ANSWERED or vectors < photos:
        raise FluffyError(
            f"the bench needs at least {LEARN_SHOTS + ANSWERED} photos and at least as many "
            "vectors as "
            f"photos (got --photos {photos}, --vectors {vectors})"
        )
    progress = progress or no_progress
    workdir = Path(workdir)
    folder = bench_photos(workdir, photos, photo_size, progress)
    paths = sorted(folder.glob("bench-*.jpg"))
    progress("Timing the model", 0, 1)
    doc: dict[str, object] = {"raw_images_per_s": round(raw_rate(clip, paths), 2)}
    with (
        tempfile.TemporaryDirectory(prefix="bench-home-", dir=workdir) as home,
        bench_album(Path(home), clip) as album,
    ):
        doc |= measure_album(album, folder, paths, vectors, progress)
        doc |= cold_start(album, clip, queries()[0], progress)
    doc |= {"peak_rss_mb": round(peak_rss_mb(), 1), "device": str(clip.device)}
    doc["model"] = clip.identity
    return {key: doc[key] for key in BENCH_KEYS}
