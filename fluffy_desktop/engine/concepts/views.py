"""The views a concept learns from: each photo and its augmented copies, encoded by the model.

A photo's views depend on the photo alone: its crops come from a generator seeded with the
photo's key (its content digest in the app). So `ViewCache` can keep them, and re-tuning a
concept after answers encodes only the photos that are new to it, while the word it learns is
the same as with nothing kept. The app keeps them on disk too (one safetensors file per model
in the home's views/ folder), so the first answer after a restart, or from the command line,
is as quick; a file that cannot be read is ignored and written again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from PIL import Image
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.home import atomic_write_bytes
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress

if TYPE_CHECKING:
    from fluffy_desktop.engine.concepts.learn import LearnSettings

ENCODE_BATCH = 32
LOOKING = "Looking at the photos"  # the progress stage of encoding views
KEPT_PHOTOS = 4096  # about 25 MB of views for ViT-B/32 with two augmentations
log = logging.getLogger(__name__)


def augment(image: Image.Image, rng: random.Random, min_crop: float) -> Image.Image:
    """A random resized crop (area ≥ min_crop, aspect 3:4 to 4:3), flipped half the time."""
    width, height = image.size
    area = width * height * rng.uniform(min_crop, 1.0)
    aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
    crop_w = max(1, min(width, round(math.sqrt(area * aspect))))
    crop_h = max(1, min(height, round(math.sqrt(area / aspect))))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    view = image.crop((left, top, left + crop_w, top + crop_h))
    return view.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else view


def photo_views(image: Image.Image, key: str, settings: LearnSettings) -> list[Image.Image]:
    """The photo itself, then settings.augmentations crops drawn from a generator seeded
    with the settings' seed and the photo's key."""
    rng = random.Random(f"{settings.seed}/{key}")
    crops = [augment(image, rng, settings.min_crop) for _ in range(settings.augmentations)]
    return [image, *crops]


def encode_views(
    clip: ClipModel,
    images: Sequence[Image.Image],
    keys: Sequence[str],
    settings: LearnSettings,
    cancel: threading.Event | None = None,
    progress: Progress = no_progress,
) -> torch.Tensor:
    """Normalised embeddings (on the model's device) of each photo followed by its augmented
    views: photo i itself is row i × `views_per_photo(settings)`."""
    views = [
        view
        for image, key in zip(images, keys, strict=True)
        for view in photo_views(image, key, settings)
    ]
    chunks = []
    for start in range(0, len(views), ENCODE_BATCH):
        check_cancel(cancel)
        progress(LOOKING, start, len(views))
        chunks.append(torch.from_numpy(clip.encode_images(views[start : start + ENCODE_BATCH])))
    progress(LOOKING, len(views), len(views))
    if not chunks:
        return torch.empty(0, clip.dim, device=clip.device)
    return torch.cat(chunks).to(clip.device)


def views_per_photo(settings: LearnSettings) -> int:
    """Rows of `encode_views` output per photo: the photo itself, then its augmented views."""
    return settings.augmentations + 1


def split_views(
    encoded: torch.Tensor, shots: int, settings: LearnSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """The shots' rows and the negatives' rows of views encoded for shots, then negatives."""
    rows = shots * views_per_photo(settings)
    return encoded[:rows], encoded[rows:]


EXAMPLE_WEIGHT = 2  # once there are "yes" answers, each example's views count twice (README)


def weighted_shot_views(
    views: torch.Tensor, examples: int, answers: int, settings: LearnSettings
) -> torch.Tensor:
    """The shots' views (the examples', then the "yes" answers') as re-tuning weighs them: with
    answers among them, each example's views EXAMPLE_WEIGHT times. Review asks about photos
    near the album's cut, so the answers are the concept's hardest photos; weighed as much as
    the photos the user chose, they made more albums worse (README, "Tagging")."""
    if not answers:
        return views
    rows = examples * views_per_photo(settings)
    return torch.cat([views[:rows]] * EXAMPLE_WEIGHT + [views[rows:]])


def photo_rows(encoded: torch.Tensor, settings: LearnSettings) -> torch.Tensor:
    """The rows of `encode_views` output that are the photos themselves, not their crops."""
    return encoded[:: views_per_photo(settings)]


@dataclass(frozen=True)
class ViewPhoto:
    """A photo to encode views of: its key (content digest), how to decode it, and when its
    file last changed (a photo edited in place is encoded again)."""

    key: str
    load: Callable[[], Image.Image]
    stamp: int = 0

    @property
    def ident(self) -> tuple[str, int]:
        return self.key, self.stamp


Kept = tuple[int, int, float, str, int]  # seed, augmentations, min_crop, key, stamp


def _name(kept: Kept) -> str:
    """A kept photo's tensor name in the model's file."""
    return "|".join(str(part) for part in kept)


def _kept(name: str) -> Kept:
    seed, augmentations, min_crop, key, stamp = name.split("|")
    return int(seed), int(augmentations), float(min_crop), key, int(stamp)


class ViewCache:
    """Encoded views of the photos concepts learned from, per model and settings: the most
    recently used `limit` photos, in memory and, when given a folder, on disk (thread-safe)."""

    def __init__(self, folder: Path | None = None, limit: int = KEPT_PHOTOS):
        self.folder, self.limit = folder, limit
        self._kept: OrderedDict[tuple[str, Kept], torch.Tensor] = OrderedDict()
        self._read: set[str] = set()  # the models whose file was read
        self._lock = threading.Lock()

    def _file(self, identity: str) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.blake2b(identity.encode(), digest_size=8).hexdigest()
        return self.folder / f"{digest}.safetensors"

    def _read_file(self, identity: str) -> None:
        """Load the model's kept views once (under the lock); an unreadable file is ignored."""
        file = self._file(identity)
        if file is None or identity in self._read:
            return
        self._read.add(identity)
        try:
            tensors = load_tensors(file.read_bytes())
            kept = {(identity, _kept(name)): rows for name, rows in tensors.items()}
        except FileNotFoundError:
            return
        except (OSError, SafetensorError, ValueError) as exc:
            log.warning("ignoring the view cache %s: %s", file, exc)
            return
        for key, rows in kept.items():
            if rows.ndim == 2 and rows.dtype == torch.float32 and len(rows) == key[1][1] + 1:
                self._kept.setdefault(key, rows)

    def _write_file(self, identity: str) -> None:
        """Save the model's kept views (under the lock); a home that cannot be written only
        costs the next start some encoding."""
        file = self._file(identity)
        if file is None:
            return
        rows = {
            _name(key[1]): v.contiguous() for key, v in self._kept.items() if key[0] == identity
        }
        try:
            atomic_write_bytes(file, save_tensors(rows))
        except FluffyError as exc:
            log.warning("cannot keep the views on disk: %s", exc)

    def views(
        self,
        clip: ClipModel,
        photos: Sequence[ViewPhoto],
        settings: LearnSettings,
        cancel: threading.Event | None = None,
        progress: Progress = no_progress,
    ) -> torch.Tensor:
        """`encode_views` of the photos, encoding only those not kept (all new photos are
        decoded before any progress is reported, so an unreadable one fails first)."""
        identity, dim = clip.identity, clip.dim
        where = (settings.seed, settings.augmentations, settings.min_crop)
        with self._lock:
            self._read_file(identity)
            kept = {p.ident: self._kept.get((identity, (*where, *p.ident))) for p in photos}
            found = {
                i: rows for i, rows in kept.items() if rows is not None and rows.shape[1] == dim
            }
        new = list({p.ident: p for p in photos if p.ident not in found}.values())
        if new:
            images = [p.load() for p in new]
            rows = encode_views(clip, images, [p.key for p in new], settings, cancel, progress)
            per_photo = views_per_photo(settings)
            for i, photo in enumerate(new):
                found[photo.ident] = rows[i * per_photo : (i + 1) * per_photo].cpu()
        with self._lock:
            for ident, rows in found.items():
                self._kept[(identity, (*where, *ident))] = rows
                self._kept.move_to_end((identity, (*where, *ident)))
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)
            if new:
                self._write_file(identity)
        if not photos:
            return torch.empty(0, clip.dim, device=clip.device)
        return torch.cat([found[p.ident] for p in photos]).to(clip.device)
