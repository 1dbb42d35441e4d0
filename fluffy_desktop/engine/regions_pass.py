"""The indexing pass that embeds each photo's regions (engine/regions.py).

It runs after the photos themselves are embedded, so search works first; it picks up every
indexed photo that has no regions yet, so a cancel, a crash or a library indexed before
regions existed is simply finished by the next run. A region vector goes with its photo's:
re-embedding a photo drops its regions (Catalog), and this pass makes them again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from pathlib import Path

import numpy as np
import torch

from fluffy_desktop.engine.catalog import Catalog
from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.images import DecodeFailure, decode_photo
from fluffy_desktop.engine.regions import decode_side, region_crops
from fluffy_desktop.engine.tasks import Progress, ahead, check_cancel

BATCH = 8  # photos per model call (REGIONS images each)
AHEAD = 3  # batches decoded ahead of the model
PAGE = 4096  # photos read from the catalog at a time
STAGE = "Finding small things"


def _crops(clip: ClipModel, path: Path) -> torch.Tensor | None:
    """In a worker thread: the photo's regions, preprocessed (None if it cannot be read now)."""
    decoded = decode_photo(path, decode_side(clip.image_size))
    if isinstance(decoded, DecodeFailure):
        return None
    crops = region_crops(decoded.image, clip.image_size)
    return torch.stack([clip.image_tensor(crop) for crop in crops])


def _load(
    clip: ClipModel, batch: list[tuple[int, Path]]
) -> tuple[list[tuple[int, Path]], list[torch.Tensor | None]]:
    return batch, [_crops(clip, path) for _, path in batch]


def _batches(catalog: Catalog) -> Iterator[list[tuple[int, Path]]]:
    """The photos without regions, BATCH at a time, read from the catalog PAGE at a time (a
    photo that cannot be read now is passed over, not asked for again in this run)."""
    after = 0
    while page := catalog.photos_without_regions(after, PAGE):
        for start in range(0, len(page), BATCH):
            yield page[start : start + BATCH]
        after = page[-1][0]


def add_regions(
    catalog: Catalog, clip: ClipModel, progress: Progress, cancel: threading.Event | None
) -> tuple[int, float]:
    """Embed the regions of every indexed photo without them: (how many, seconds)."""
    started = time.monotonic()
    total, done = catalog.count_without_regions(), 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        loaded = ahead(pool, partial(_load, clip), _batches(catalog), AHEAD)
        with closing(loaded):
            for batch, tensors in loaded:
                progress(STAGE, done, total)
                check_cancel(cancel)
                _store(catalog, clip, batch, tensors)
                done += len(batch)
    progress(STAGE, total, total)
    return done, time.monotonic() - started


def _store(
    catalog: Catalog,
    clip: ClipModel,
    batch: list[tuple[int, Path]],
    tensors: list[torch.Tensor | None],
) -> None:
    """Embed a batch's regions and write them (photos that could not be read are skipped)."""
    ready = [(pid, t) for (pid, _), t in zip(batch, tensors, strict=True) if t is not None]
    if ready:
        vectors = clip.encode_image_batch(torch.cat([t for _, t in ready]))
        parts = np.split(vectors, len(ready))
        catalog.store_regions({pid: part for (pid, _), part in zip(ready, parts, strict=True)})
