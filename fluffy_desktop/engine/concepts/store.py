"""Learned concepts on disk: one `<slug>.safetensors` file each, written atomically.

The file holds the word as a tensor and the concept's JSON under the header metadata key
"fluffy-concept", so a concept is never half-written: a crash leaves the old file or the new one.
The name inside the file is the truth, the file name only a key to find it by: a rename rewrites
the file in place, then moves it to the new key, so a crash leaves exactly one copy at any point,
and a rename interrupted between the two steps is finished the next time the store is read.
Export copies that same format. Import reads it with safetensors only (never pickle), checks
every field, and refuses a concept learned for another model. Every error leaves the disk
unchanged.

A concept learned with one model is kept when it is learned again with another: before its
file is replaced, a copy goes to `models/<model>/<slug>.safetensors`. Switching back to that
model uses the copy (`version`) as long as it is the same concept (same creation time) learned
from the same photos, so no re-learning is needed.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from fluffy_desktop.engine.errors import (
    ConceptMismatch,
    FluffyError,
    HomeUnwritable,
    UnknownConcept,
)
from fluffy_desktop.engine.home import atomic_write_bytes
from fluffy_desktop.engine.tagging import HeldAlbum

FORMAT = "fluffy-concept/1"
HEADER_KEY = "fluffy-concept"
MAX_NAME = 64
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_WORD_WIDTH = 16384
_NAME = re.compile(r"^[\w' -]+$")


class BadConcept(FluffyError):
    """A concept request that cannot be carried out: bad name or kind, no photos."""


class ConceptExists(BadConcept):
    """A concept name that is already taken."""


def clean_name(name: str) -> str:
    """The name with whitespace collapsed, or BadConcept saying what a name may hold."""
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > MAX_NAME or not _NAME.match(cleaned):
        raise BadConcept(
            f"{name!r} cannot name a concept: use 1-{MAX_NAME} letters, digits, spaces, - _ or '"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise BadConcept(f"{name!r} cannot name a concept: it needs a letter or a digit")
    return cleaned


def slug(name: str) -> str:
    """A filename-safe, case-insensitive key for a concept name."""
    key = clean_name(name).casefold()
    readable = re.sub(r"[^a-z0-9]+", "-", key).strip("-")[:40] or "concept"
    return f"{readable}-{hashlib.blake2b(key.encode(), digest_size=4).hexdigest()}"


@dataclass
class Concept:
    """A learned word and what it was learned from."""

    name: str
    kind: str
    word: torch.Tensor  # (word_width,) float32
    model: str  # ClipModel.identity
    photos: list[dict] = field(default_factory=list)  # [{"path", "digest"}]
    negatives: list[dict] = field(default_factory=list)
    created: str = ""  # ISO-8601 UTC
    settings: dict = field(default_factory=dict)
    confirmed: list[dict] = field(default_factory=list)  # "this is it" answers: more examples
    threshold: float | None = None  # the album's cut-off (engine/tagging.py), None: not set
    held: HeldAlbum | None = None  # the album before the last re-tune (tagging.HeldAlbum)

    def to_info(self) -> dict:
        """The row of `concepts list --json`."""
        return {
            "name": self.name,
            "kind": self.kind,
            "photos": len(self.photos),
            "created": self.created,
        }

    def metadata(self) -> dict:
        """Everything but the word, as stored in the JSON file (`concepts show --json`)."""
        return {
            "format": FORMAT,
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "word_width": int(self.word.numel()),
            "photos": self.photos,
            "negatives": self.negatives,
            "confirmed": self.confirmed,
            "threshold": self.threshold,
            "held": _held_meta(self.held),
            "created": self.created,
            "settings": self.settings,
        }

    def check_model(self, identity: str) -> None:
        """ConceptMismatch unless the concept was learned with this model."""
        if self.model != identity:
            raise ConceptMismatch(
                f"concept {self.name!r} was learned with model {self.model}, not {identity}: "
                "learn it again with this model"
            )


def _checked_word(word: object) -> torch.Tensor:
    if not isinstance(word, torch.Tensor) or word.dim() != 1 or word.dtype != torch.float32:
        raise ValueError("the word is not a 1-d float32 vector")
    if not 0 < word.numel() <= MAX_WORD_WIDTH or not bool(torch.isfinite(word).all()):
        raise ValueError("the word has an impossible size or non-finite values")
    return word


def _refs(value: object) -> list[dict]:
    if not isinstance(value, list) or not all(
        isinstance(r, dict) and isinstance(r.get("path"), str) and isinstance(r.get("digest"), str)
        for r in value
    ):
        raise ValueError("photo references are malformed")
    return [{"path": r["path"], "digest": r["digest"]} for r in value]


def _held_meta(held: HeldAlbum | None) -> dict | None:
    """The held album's cuts and newest photo id (its photo ids are a tensor of the file)."""
    return None if held is None else {"upto": held.upto, "stay": held.stay, "join": held.join}


def _held(value: object, ids: object) -> HeldAlbum | None:
    if value is None and ids is None:
        return None
    if not isinstance(value, dict) or not isinstance(ids, torch.Tensor) or ids.dim() != 1:
        raise ValueError("the held album is malformed")
    upto, stay, join = (
        value.get("upto"),
        _threshold(value.get("stay")),
        _threshold(value.get("join")),
    )
    if isinstance(upto, bool) or not isinstance(upto, int) or stay is None or join is None:
        raise ValueError("the held album is malformed")
    if ids.dtype != torch.int64:
        raise ValueError("the held album's photo ids are not integers")
    return HeldAlbum(frozenset(ids.tolist()), upto, stay, join)


def concept_from(meta: object, word: object, held_ids: object = None) -> Concept:
    """A Concept from untrusted metadata and tensors; ValueError when anything is off."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("not a Fluffy concept")
    keys = ("name", "kind", "model", "created")
    fields = {k: v for k in keys if isinstance(v := meta.get(k), str)}
    if len(fields) != len(keys) or not fields["kind"].strip():
        raise ValueError("name, kind, model or created is missing")
    if not isinstance(meta.get("settings", {}), dict):
        raise ValueError("settings are malformed")
    try:
        name = clean_name(fields["name"])
    except BadConcept as exc:
        raise ValueError(str(exc)) from exc
    word = _checked_word(word)
    if meta.get("word_width") != word.numel():
        raise ValueError("the word's width does not match the metadata")
    return Concept(
        name=name,
        kind=fields["kind"],
        word=word,
        model=fields["model"],
        photos=_refs(meta.get("photos", [])),
        negatives=_refs(meta.get("negatives", [])),
        created=fields["created"],
        settings=meta.get("settings", {}),
        confirmed=_refs(meta.get("confirmed", [])),
        threshold=_threshold(meta.get("threshold")),
        held=_held(meta.get("held"), held_ids),
    )


def _threshold(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise ValueError("the threshold is not a cosine")
    return float(value)


def model_folder(model: str) -> str:
    """A folder name for a model identity (readable part and a hash, so two never collide)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[:48] or "model"
    return f"{readable}-{hashlib.blake2b(model.encode(), digest_size=4).hexdigest()}"


def same_photos(one: Concept, other: Concept) -> bool:
    """Whether two versions of a concept were learned from the same photos and answers (by
    content: a moved photo is the same photo)."""
    keys = ("photos", "confirmed", "negatives")
    digests = [{r["digest"] for r in getattr(c, key)} for c in (one, other) for key in keys]
    return digests[:3] == digests[3:]


def header_metadata(data: bytes) -> dict:
    """The __metadata__ of a safetensors byte string, read without loading any tensor."""
    if len(data) < 8:
        raise ValueError("too short")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise ValueError("truncated header")
    header = json.loads(data[8 : 8 + length])
    if not isinstance(header, dict):
        raise ValueError("bad header")
    metadata = header.get("__metadata__", {})
    return metadata if isinstance(metadata, dict) else {}


def pack(concept: Concept) -> bytes:
    """One self-describing file: the word (and the held album's photo ids), with the metadata
    JSON in the safetensors header."""
    metadata = {HEADER_KEY: json.dumps(concept.metadata())}
    tensors = {"word": concept.word.contiguous()}
    if concept.held is not None:
        tensors["held"] = torch.tensor(sorted(concept.held.ids), dtype=torch.int64)
    return save_tensors(tensors, metadata=metadata)


def unpack(data: bytes) -> Concept:
    """The concept in a packed file; ValueError (or a safetensors error) when malformed."""
    meta = json.loads(header_metadata(data).get(HEADER_KEY, "null"))
    tensors = load_tensors(data)
    if not {"word"} <= set(tensors) <= {"word", "held"}:
        raise ValueError("unexpected tensors")
    return concept_from(meta, tensors["word"], tensors.get("held"))


class ConceptStore:
    """The concepts of one home directory; names are case-insensitive."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def _file(self, key: str) -> Path:
        return self.directory / f"{key}.safetensors"

    def _load(self, key: str) -> Concept:
        path = self._file(key)
        try:
            return unpack(path.read_bytes())
        except Exception as exc:  # an untrusted file: any failure to parse is a refusal
            raise ConceptMismatch(
                f"the file of concept {key!r} in {self.directory} is damaged: "
                "remove it and learn the concept again"
            ) from exc

    def list(self) -> list[Concept]:
        """All readable concepts, by name; damaged files are skipped, interrupted renames
        finished."""
        concepts = []
        for path in self.directory.glob("*.safetensors"):
            try:
                concept = self._load(path.stem)
            except ConceptMismatch:
                continue
            self._finish_rename(path, concept)
            concepts.append(concept)
        return sorted(concepts, key=lambda c: c.name.casefold())

    def _finish_rename(self, path: Path, concept: Concept) -> None:
        """Move a file still under its old name's key to its name's key (best effort)."""
        target = self._file(slug(concept.name))
        if path != target and not target.exists():
            with contextlib.suppress(OSError):  # a read-only home: the next run tries again
                os.replace(path, target)

    def _named(self, key: str) -> Concept | None:
        """The concept filed under key, if the file is there and holds a name with that key."""
        if not self._file(key).is_file():
            return None
        concept = self._load(key)
        return concept if slug(concept.name) == key else None

    def _kept(self, model: str, key: str) -> Path:
        """Where a concept's copy learned with another model is kept."""
        return self.directory / "models" / model_folder(model) / f"{key}.safetensors"

    def _kept_copies(self, key: str) -> builtins.list[Path]:
        return sorted(self.directory.glob(f"models/*/{key}.safetensors"))

    def version(self, concept: Concept, model: str) -> Concept | None:
        """The concept as learned with this model: itself, or its kept copy (see the module
        docstring) under its current name and photo paths; None when it needs learning with
        this model."""
        if concept.model == model:
            return concept
        try:
            kept = unpack(self._kept(model, slug(concept.name)).read_bytes())
        except Exception:  # no copy, or a damaged one: either way, not usable
            return None
        if kept.model != model or kept.created != concept.created:
            return None
        if not same_photos(kept, concept):
            return None
        kept.name, kept.photos = concept.name, concept.photos  # where the photos are now
        kept.confirmed, kept.negatives = concept.confirmed, concept.negatives
        return kept

    def _keep_other_model(self, file: Path, model: str) -> None:
        """Before a file is replaced by a concept learned with `model`, keep a copy of what it
        holds when that was learned with another model."""
        try:
            data = file.read_bytes()
            old = unpack(data)
        except Exception:  # nothing there, or a damaged file: nothing worth keeping
            return
        if old.model != model:
            atomic_write_bytes(self._kept(old.model, file.stem), data)

    def names(self) -> builtins.list[str]:
        return [concept.name for concept in self.list()]

    def check_name(self, name: str) -> str:
        """The cleaned name, or BadConcept saying what a name may hold."""
        return clean_name(name)

    def exists(self, name: str) -> bool:
        self.list()  # a half-finished rename is finished first
        return self._file(slug(name)).is_file()

    def get(self, name: str) -> Concept:
        """The concept of that name (any case), or UnknownConcept naming the known ones."""
        try:
            key = slug(name)
        except BadConcept:
            key = None
        concept = None if key is None else self._named(key)
        if concept is None:
            known = ", ".join(self.names())  # finishes an interrupted rename, if one is there
            concept = None if key is None else self._named(key)
        if concept is None:
            hint = f"known concepts: {known}" if known else "learn one with `fluffy learn`"
            raise UnknownConcept(f"no concept named {name!r}; {hint}")
        return concept

    def save(self, concept: Concept, key: str | None = None) -> None:
        """Write (or replace) the concept in one atomic file write, under its name's key
        unless another key is given."""
        concept.name = clean_name(concept.name)
        _checked_word(concept.word)
        if not concept.kind.strip():
            raise BadConcept("say what kind of thing the concept is, for example 'cat'")
        file = self._file(key or slug(concept.name))
        self._keep_other_model(file, concept.model)
        atomic_write_bytes(file, pack(concept))

    def remove(self, name: str) -> None:
        """Delete the concept's file, and first the copies kept for other models."""
        key = slug(self.get(name).name)
        for copy in self._kept_copies(key):
            copy.unlink()
        self._file(key).unlink()

    def rename(self, old: str, new: str) -> Concept:
        """Give a concept a new name (a change of case alone is allowed), crash-safely: the
        file is rewritten under its old key, then moved to the new one in one rename."""
        concept = self.get(old)
        new = clean_name(new)
        old_file, new_file = self._file(slug(concept.name)), self._file(slug(new))
        if old_file != new_file and self.exists(new):
            raise ConceptExists(f"a concept named {new!r} already exists: pick another name")
        concept.name = new
        self.save(concept, key=old_file.stem)  # still under the old key
        if old_file != new_file:
            try:
                os.replace(old_file, new_file)
            except OSError as exc:
                raise HomeUnwritable(f"cannot rename {old_file}: {exc.strerror or exc}") from exc
            self._move_kept_copies(old_file.stem, new_file.stem)
        return concept

    def _move_kept_copies(self, old_key: str, new_key: str) -> None:
        """The copies kept for other models follow a rename (best effort: one left behind
        only costs a re-learning, and never passes for another concept: see `version`)."""
        for copy in self._kept_copies(old_key):
            with contextlib.suppress(OSError):
                os.replace(copy, copy.with_name(f"{new_key}.safetensors"))

    def export(self, name: str, file: Path) -> None:
        """Write the concept to ONE file (see the module docstring), atomically."""
        atomic_write_bytes(Path(file), pack(replace(self.get(name), held=None)))

    def import_(self, file: Path, model_identity: str, name: str | None = None) -> Concept:
        """Add a concept from an exported file; refuses other models, damage and taken names."""
        file = Path(file)
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                raise ConceptMismatch(f"{file} is too large to be a Fluffy concept file")
            data = file.read_bytes()
        except OSError as exc:
            raise ConceptMismatch(f"cannot read {file}: {exc.strerror or exc}") from exc
        try:
            concept = unpack(data)
        except Exception as exc:  # an untrusted file: any failure to parse is a refusal
            raise ConceptMismatch(
                f"{file} is not a Fluffy concept file (make one with `fluffy concepts export`)"
            ) from exc
        concept.check_model(model_identity)
        concept.held = None  # its photo ids belong to another library
        if name is not None:
            concept.name = clean_name(name)
        if self.exists(concept.name):
            raise ConceptExists(
                f"a concept named {concept.name!r} already exists: import it under another "
                "name, or remove the existing one first"
            )
        self.save(concept)
        return concept
