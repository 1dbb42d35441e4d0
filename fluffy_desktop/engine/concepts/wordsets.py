"""Training sets for the inverter: photos in class-named folders, and text-augmented sets.

A set is a handful of L2-normalised embeddings of one thing; the inverter learns to name it.
Photo sets come from `DIR/<class name>/*.jpg` (COCO-style). Text sets come from the shipped word
list (resources/words/objects.tsv, `fine<TAB>coarse`): captions of imagined photos of the fine
name, encoded by the text tower and carried into image space by the modality-gap shift.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fluffy_desktop.engine.clip import PLACEHOLDER, ClipModel
from fluffy_desktop.engine.concepts.prompts import CAPTION_TEMPLATES, concept_slot, fill
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.images import DecodedPhoto, decode_photo, is_image_name
from fluffy_desktop.engine.resources import word_list
from fluffy_desktop.engine.tasks import Progress, check_cancel

ENCODE_BATCH = 32


class BadTrainingData(FluffyError):
    """The photos given for inverter training cannot make training sets."""


@dataclass(frozen=True)
class SetSource:
    """Entries that each have a true name, a slot for the predicted word, and member vectors."""

    names: list[str]
    slots: list[str]  # the predicted word's place in a prompt: "*" or "<coarse> *"
    members: list[torch.Tensor]  # per entry: (n, dim) normalised embeddings

    def __len__(self) -> int:
        return len(self.names)

    def sample(
        self, batch: int, set_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, list[int]]:
        """(batch, set_size, dim) sets of distinct entries, members drawn with replacement."""
        chosen = torch.randperm(len(self), generator=generator)[: min(batch, len(self))].tolist()
        sets = []
        for entry in chosen:
            pool = self.members[entry]
            picks = torch.randint(len(pool), (set_size,), generator=generator)
            sets.append(pool[picks])
        return torch.stack(sets), chosen


def word_pairs() -> list[tuple[str, str]]:
    """(fine, coarse) pairs from the shipped word list."""
    pairs = []
    for line in word_list("words/objects.tsv"):
        fine, coarse = line.split("\t")
        pairs.append((fine.strip(), coarse.strip()))
    return pairs


def _encode_paths(
    clip: ClipModel, paths: list[Path], progress: Progress, cancel: threading.Event | None
) -> tuple[torch.Tensor, list[bool]]:
    """Normalised embeddings of the readable photos, and which of the photos were readable."""
    vectors, readable = [], []
    for start in range(0, len(paths), ENCODE_BATCH):
        check_cancel(cancel)
        decoded = [decode_photo(p, clip.image_size) for p in paths[start : start + ENCODE_BATCH]]
        readable += [isinstance(d, DecodedPhoto) for d in decoded]
        batch = [d.image for d in decoded if isinstance(d, DecodedPhoto)]
        if batch:
            vectors.append(torch.from_numpy(clip.encode_images(batch)))
        progress("Reading training photos", min(start + ENCODE_BATCH, len(paths)), len(paths))
    return (torch.cat(vectors) if vectors else torch.empty(0, clip.dim)), readable


def image_folder_sets(
    clip: ClipModel,
    folder: Path,
    per_class: int,
    progress: Progress,
    cancel: threading.Event | None,
) -> tuple[SetSource, int]:
    """One entry per class subfolder (its name, "_" read as a space); and the unread count."""
    classes: dict[str, list[Path]] = {}
    for sub in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        files = sorted(f for f in sub.iterdir() if is_image_name(f.name))
        name = " ".join(sub.name.replace("_", " ").replace(PLACEHOLDER, " ").split())
        if files and name:
            classes[name] = files[:per_class]
    paths = [p for files in classes.values() for p in files]
    vectors, readable = _encode_paths(clip, paths, progress, cancel)
    names, members, offset, row = [], [], 0, 0
    for name, files in classes.items():
        count = sum(readable[offset : offset + len(files)])
        offset += len(files)
        if count:
            names.append(name)
            members.append(vectors[row : row + count])
            row += count
    if len(names) < 2:
        raise BadTrainingData(
            f"{folder} needs at least two class-named subfolders with readable photos "
            "(for example cat/ and dog/)"
        )
    return SetSource(names, ["*"] * len(names), members), readable.count(False)


def caption_embeddings(
    clip: ClipModel, pairs: list[tuple[str, str]], cancel: threading.Event | None
) -> torch.Tensor:
    """(len(pairs), captions, dim) normalised text embeddings of captions of each fine name."""
    texts = [fill(t, fine) for fine, _ in pairs for t in CAPTION_TEMPLATES]
    chunks = []
    for start in range(0, len(texts), 256):
        check_cancel(cancel)
        chunks.append(torch.from_numpy(clip.encode_texts(texts[start : start + 256])))
    return torch.cat(chunks).reshape(len(pairs), len(CAPTION_TEMPLATES), -1)


def modality_gap(images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
    """Mean image embedding minus mean text embedding ("Mind the Gap", Liang et al. 2022)."""
    return images.reshape(-1, images.shape[-1]).mean(0) - texts.reshape(-1, texts.shape[-1]).mean(0)


def text_sets(
    captions: torch.Tensor, pairs: list[tuple[str, str]], shift: torch.Tensor
) -> SetSource:
    """Caption sets shifted into image space; the word is spoken of as "<coarse> *"."""
    shifted = F.normalize(captions + shift, dim=-1)
    return SetSource(
        names=[fine for fine, _ in pairs],
        slots=[concept_slot(coarse) for _, coarse in pairs],
        members=list(shifted),
    )


def library_sample(vectors: np.ndarray | None) -> torch.Tensor | None:
    """Library image embeddings as a tensor, when the caller has any."""
    if vectors is None or len(vectors) == 0:
        return None
    return F.normalize(torch.as_tensor(np.asarray(vectors, dtype=np.float32)), dim=-1)
