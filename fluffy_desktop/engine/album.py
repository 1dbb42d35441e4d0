"""The Album facade: one per home directory, under both the CLI and the GUI."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fluffy_desktop.engine.catalog import Catalog, PhotoRecord, content_digest, photo_time
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.concepts.inverter import Inverter, train_inverter
from fluffy_desktop.engine.concepts.learn import LearnSettings, tune_word
from fluffy_desktop.engine.concepts.names import is_ordinary_word, shadow_warning
from fluffy_desktop.engine.concepts.prompts import concept_slot
from fluffy_desktop.engine.concepts.relearn import RELEARNED, REUSED, UP_TO_DATE, RelearnReport
from fluffy_desktop.engine.concepts.store import Concept, ConceptStore
from fluffy_desktop.engine.concepts.views import (
    ViewCache,
    ViewPhoto,
    photo_rows,
    split_views,
    weighted_shot_views,
)
from fluffy_desktop.engine.concepts.whereabouts import find_photos, follow_moves
from fluffy_desktop.engine.errors import BadQuery, ConceptMismatch, FluffyError, PhotoUnreadable
from fluffy_desktop.engine.home import Home, atomic_write_bytes, default_home
from fluffy_desktop.engine.images import (
    DecodeFailure,
    load_display_image,
    read_photo,
    taken_at,
    upright_size,
)
from fluffy_desktop.engine.ingest import IndexReport, index_library
from fluffy_desktop.engine.known_models import KnownModels
from fluffy_desktop.engine.localise import LOCATE_SIDE, Location, background_prompts, locate
from fluffy_desktop.engine.model_state import (
    NEEDS_PHOTOS,
    READY,
    RELEARN,
    ModelState,
    embedding_notice,
)
from fluffy_desktop.engine.query import ParsedQuery, parse_query, query_vector
from fluffy_desktop.engine.regions import (
    ALBUM_SCORE,
    RERANK,
    album_scores,
    decode_side,
    region_crops,
    with_regions,
)
from fluffy_desktop.engine.resources import word_list
from fluffy_desktop.engine.sidecars import ExportReport, copy_photos, export_keywords
from fluffy_desktop.engine.tagging import (
    SCAN,
    Cut,
    Member,
    Ranked,
    album_members,
    calibrate,
    held_album,
    review_candidates,
)
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress
from fluffy_desktop.engine.vectors import VectorIndex
from fluffy_desktop.engine.weights import cached_hub_weights

log = logging.getLogger(__name__)
UNREADABLE_LISTED = 50  # unreadable photos named by `status` (all of them are counted)
RETUNE_STEPS = 10  # re-tuning after answers starts from the current word: fewer steps
OUTSIDE_REGIONS_KEPT = 256  # photos outside the library whose regions stay in memory
LIBRARY_SAMPLE = 4096  # photo vectors for the modality gap (inverter) and the average photo (learn)


@dataclass(frozen=True)
class SearchHit:
    """One ranked photo."""

    photo_id: int
    path: Path
    score: float
    when: str = ""  # taken, else last modified (ISO text), for sorting and showing results

    def to_json(self) -> dict:
        return {"path": str(self.path), "score": round(self.score, 6)}


class SearchHits(list[SearchHit]):
    """Ranked photos, best first, the concepts the query searched for (in its order), and
    the line that explains results cut short by a model change (model_state.embedding_notice)."""

    concepts: tuple[str, ...] = ()
    notice: str | None = None


@dataclass(frozen=True)
class LearnReport:
    """What `learn` did, in the shape of `learn --json`."""

    name: str
    kind: str
    photos: int
    steps: int
    seconds: float
    start: str
    warning: str | None = None  # the name is also an ordinary word: how to search for it

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "photos": self.photos,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
        }


class Album:
    """A photo library with its index, concepts and model, living in one home directory.

    The model loads lazily, so `status()` and the concept list work without weights. All
    methods may be called from worker threads; writers are serialised.
    """

    def __init__(
        self,
        home: Path | None = None,
        spec: ModelSpec | None = None,
        device: str | None = None,
        clip: ClipModel | None = None,
    ):
        """`clip` hands in an already built model (the bench's random-weights timing model)."""
        self.home = Home(Path(home) if home else default_home()).ensure()
        spec = spec if spec is not None else self._saved_spec(ModelSpec.from_env())
        self.spec = replace(spec, device=device) if device else spec
        self.catalog = Catalog(self.home.catalog)
        self.concepts = ConceptStore(self.home.concepts_dir)
        self.known_models = KnownModels(self.home.models_dir / "identities.json")
        self._clip = clip
        self._index: VectorIndex | None = None
        self._text_cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._concept_cache: dict[str, tuple[tuple[str, str, bytes, bytes], np.ndarray]] = {}
        # Region vectors of photos outside the library (examples), by model, path and stamp.
        self._outside_regions: dict[tuple[str, str, int, int], np.ndarray] = {}
        self._views = ViewCache(self.home.views_dir)
        self._model_lock = threading.RLock()
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Album:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- model ----------------------------------------------------------------------------
    @property
    def settings_file(self) -> Path:
        return self.home.root / "settings.json"

    def _saved_spec(self, spec: ModelSpec) -> ModelSpec:
        """A model file chosen earlier in the app applies unless the environment names a model."""
        named = ("FLUFFY_MODEL", "FLUFFY_PRETRAINED", "FLUFFY_WEIGHTS")
        if any(os.environ.get(name) for name in named) or not self.settings_file.is_file():
            return spec
        saved = json.loads(self.settings_file.read_text())
        if not saved.get("weights"):
            return spec
        return ModelSpec(saved.get("arch", spec.arch), None, Path(saved["weights"]), spec.device)

    def use_model_file(self, weights: Path, arch: str | None = None) -> None:
        """Switch to a local weights file (checked by loading it) and remember the choice."""
        spec = ModelSpec(arch or self.spec.arch, None, Path(weights), self.spec.device)
        clip = ClipModel.load(spec, self.home.models_dir)
        clip.ensure_image_side()
        record = {"arch": spec.arch, "weights": str(Path(weights).resolve())}
        atomic_write_bytes(self.settings_file, json.dumps(record).encode())
        self.known_models.remember(spec, clip.identity)
        with self._model_lock:
            self.spec, self._clip, self._index = spec, clip, None

    def model_on_disk(self) -> bool:
        """Whether the model can load without a download (checked without loading it)."""
        if self._clip is not None:
            return True
        if self.spec.weights is not None:
            return Path(self.spec.weights).is_file()
        if not self.spec.pretrained:
            return False
        try:
            return (
                cached_hub_weights(self.spec.arch, self.spec.pretrained, self.home.models_dir)
                is not None
            )
        except (FluffyError, RuntimeError):
            return False

    def clip(
        self, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> ClipModel:
        """The loaded model (loading or downloading it on first use)."""
        with self._model_lock:
            if self._clip is None:
                self._clip = ClipModel.load(self.spec, self.home.models_dir, progress, cancel)
                self.known_models.remember(self.spec, self._clip.identity)
            return self._clip

    def model_identity(self) -> str | None:
        """The identity of the model in use: known without loading it when it was loaded
        before; loaded when it is on this computer; None when it is not."""
        with self._model_lock:
            if self._clip is not None:
                return self._clip.identity
        known = self.known_models.identity(self.spec)
        if known is not None or not self.model_on_disk():
            return known
        return self.clip().identity

    def model_state(self) -> ModelState | None:
        """How much of the library and which concepts are ready for the model in use (None
        when that model is not on this computer)."""
        identity = self.model_identity()
        if identity is None:
            return None
        embedded, photos = self.catalog.coverage(identity)
        states = {c.name: self._concept_state(c, identity) for c in self.concepts.list()}
        return ModelState(embedded, photos, states)

    def _concept_state(self, concept: Concept, identity: str) -> str:
        if self.concepts.version(concept, identity) is not None:
            return READY
        return RELEARN if find_photos(concept, self.catalog.paths_by_digest).found else NEEDS_PHOTOS

    def vector_index(self) -> VectorIndex:
        with self._model_lock:
            if self._index is None:
                clip = self.clip()
                self._index = VectorIndex.open(
                    self.home.index_dir, clip.dim, clip.identity, self.catalog
                )
            return self._index

    # --- library --------------------------------------------------------------------------
    def folders(self) -> list[Path]:
        return self.catalog.roots()

    def add_folders(self, paths: Sequence[Path]) -> list[Path]:
        """Add folders to the library (checked first: a bad one adds nothing)."""
        resolved = [Path(p).expanduser().resolve() for p in paths]
        for path in resolved:
            if not path.is_dir():
                raise FluffyError(f"{path} is not a folder: give the folders your photos are in")
        with self._write_lock:
            for path in resolved:
                self.catalog.add_root(path)
        return resolved

    def remove_folder(self, path: Path) -> None:
        with self._write_lock:
            removed = self.catalog.remove_root(Path(path))
            if removed and self._index is not None:
                self._index.remove(removed)
                self._index.save()

    def index(
        self,
        paths: Sequence[Path] = (),
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> IndexReport:
        """Add `paths` (if any) and index them incrementally; with none, re-scan every folder.
        The concepts of this model then follow their photos that moved."""
        roots = self.add_folders(paths) if paths else self.folders()
        clip, index = self.clip(progress, cancel), self.vector_index()
        with self._write_lock:
            report = index_library(self.catalog, index, clip, roots, progress, cancel)
            self._follow_moves(clip.identity)
        return report

    def _follow_moves(self, identity: str) -> None:
        """Point the examples and answers of this model's concepts at where the library now
        holds those that moved (other models' concepts follow theirs when re-learned)."""
        for concept in self.concepts.list():
            if concept.model != identity:
                continue
            moved = follow_moves(concept, self.catalog.paths_by_digest)
            if moved is not None:
                self.concepts.save(moved)

    def recent(self, limit: int, offset: int = 0) -> list[PhotoRecord]:
        """Photos newest first, for the grid when there is no query."""
        return self.catalog.recent(limit, offset)

    def photo_when(self, path: Path) -> str:
        """When a photo was taken, else last changed (ISO text): the catalog's for a library
        photo, the file's own for one outside it (an example kept elsewhere); "" if unknown."""
        record = self.catalog.photo_by_path(path)
        if record is not None:
            return record.when
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return ""
        return photo_time(taken_at(path), mtime)

    # --- search ---------------------------------------------------------------------------
    def search(self, text: str, k: int = 20) -> SearchHits:
        """Free text with concept names, -negatives, or a photo path (similar photos)."""
        if k < 1:
            raise BadQuery("-k must be at least 1")
        parsed, concepts = self._parse(text)
        in_context = bool(_context(parsed, concepts))  # regions: see engine/regions.py
        hits = SearchHits(self.nearest(self._vector(parsed, concepts), k, regions=in_context))
        hits.concepts = tuple(dict.fromkeys(parsed.concepts))
        hits.notice = self._embedding_notice(self.clip().identity)
        return hits

    def _embedding_notice(self, identity: str) -> str | None:
        """model_state.embedding_notice, counted only when some photo waits for this model
        (a search must not count the library)."""
        if self.catalog.all_embedded(identity):
            return None
        return embedding_notice(*self.catalog.coverage(identity))

    def query_vector(self, text: str) -> np.ndarray:
        """The normalised embedding a query stands for (concepts injected, negatives applied)."""
        return self._vector(*self._parse(text))

    def _parse(self, text: str) -> tuple[ParsedQuery, dict[str, Concept]]:
        """The parsed query, and the concepts by name (each concept file read once)."""
        concepts = {concept.name: concept for concept in self.concepts.list()}
        ordinary = [name for name in concepts if self._is_ordinary_word(name)]
        return parse_query(text, {n: c.kind for n, c in concepts.items()}, ordinary), concepts

    def _is_ordinary_word(self, name: str) -> bool:
        return is_ordinary_word(name, self.clip().token_ids)

    def name_warning(self, name: str) -> str | None:
        """What to know about a concept name that is also an ordinary word (concepts/names.py),
        else None."""
        return shadow_warning(" ".join(name.split())) if self._is_ordinary_word(name) else None

    def _vector(self, parsed: ParsedQuery, concepts: dict[str, Concept]) -> np.ndarray:
        if parsed.image is not None:
            return self.photo_vector(parsed.image)
        usable = {name: self._usable(concepts[name]) for name in parsed.names}
        words = {name: concept.word for name, concept in usable.items()}
        shown = {name: self._example_photo(usable[name]) for name in dict.fromkeys(parsed.concepts)}
        photos = {name: photo for name, photo in shown.items() if photo is not None}
        return query_vector(self.clip(), parsed, words, photos)

    def _example_photo(self, concept: Concept) -> np.ndarray | None:
        """The normalised mean embedding of the concept's examples and "yes" photos on disk
        (from their kept views: encoded only when not kept), or None when none is on disk."""
        settings = LearnSettings()
        shots = self._view_photos(concept.photos + concept.confirmed)
        if not shots:
            return None
        views = self._views.views(self.clip(), shots, settings)
        mean = photo_rows(views, settings).float().mean(dim=0)
        photo: np.ndarray = torch.nn.functional.normalize(mean, dim=-1).cpu().numpy()
        return photo

    def _usable(self, concept: Concept) -> Concept:
        """The concept as learned with the model in use, or ConceptMismatch saying how to
        get there."""
        identity = self.clip().identity
        found = self.concepts.version(concept, identity)
        if found is None:
            raise ConceptMismatch(
                f"concept {concept.name!r} was learned with another model and is not re-learned "
                f"for this one yet: run `fluffy concepts relearn {concept.name}` (the app does "
                "it by itself)"
            )
        return found

    def nearest(self, vector: np.ndarray, k: int, regions: bool = False) -> list[SearchHit]:
        """The k photos closest to a vector, best first; with regions, the RERANK closest are
        scored by their best region too (a concept that fills a small part of a photo)."""
        found = self.vector_index().search(vector, max(k, RERANK) if regions else k)
        if regions:
            found = self._by_regions(found, vector)[:k]
        photos = self.catalog.photos_for([pid for pid, _ in found])
        return [
            SearchHit(pid, photos[pid].path, score, photos[pid].when)
            for pid, score in found
            if pid in photos
        ]

    def _by_regions(
        self, found: list[tuple[int, float]], vector: np.ndarray
    ) -> list[tuple[int, float]]:
        ids = [photo_id for photo_id, _ in found]
        regions = self.catalog.regions_for(ids, len(vector))
        scores = with_regions(ids, np.array([score for _, score in found]), regions, vector)
        return [(ids[i], float(scores[i])) for i in np.argsort(-scores, kind="stable")]

    def _indexed(self, path: Path) -> PhotoRecord | None:
        """The photo's catalog record when it is in the library, embedded by the model in use."""
        record = self.catalog.photo_by_path(Path(path).absolute()) or self.catalog.photo_by_path(
            Path(path).resolve()
        )
        current = self.catalog.get_meta("model") == self.clip().identity
        return record if record is not None and record.status == "ok" and current else None

    def photo_vector(self, path: Path) -> np.ndarray:
        """A photo's embedding: the stored one when it is in the library, else computed."""
        record = self._indexed(path)
        if record is not None:
            vectors = self.catalog.vectors_for([record.id])
        else:
            vectors = self.clip().encode_images([self._decode(Path(path))])
        vector: np.ndarray = vectors[0]
        return vector

    def photo_regions(self, path: Path) -> np.ndarray | None:
        """A photo's region vectors (regions.py): the stored ones for a library photo (None
        until the regions pass reaches it), else computed and kept in memory (an example
        from outside the library)."""
        record = self._indexed(path)
        if record is not None:
            return self.catalog.regions_for([record.id], self.clip().dim).get(record.id)
        clip, status = self.clip(), Path(path).stat()
        key = (clip.identity, str(Path(path).resolve()), status.st_mtime_ns, status.st_size)
        if key not in self._outside_regions:
            image = read_photo(Path(path), decode_side(clip.image_size))
            if len(self._outside_regions) >= OUTSIDE_REGIONS_KEPT:
                del self._outside_regions[next(iter(self._outside_regions))]  # the oldest
            self._outside_regions[key] = clip.encode_images(region_crops(image, clip.image_size))
        return self._outside_regions[key]

    def locate(self, text: str, photo: Path) -> list[Location]:
        """Where each concept of a query is in a photo (the whole query when it names none).
        A concept is found when the photo, or the crop around its mask, reaches its album
        threshold."""
        decoded = load_display_image(Path(photo), LOCATE_SIDE)
        if isinstance(decoded, DecodeFailure):
            raise PhotoUnreadable(f"cannot read {photo}: {decoded.reason}")
        parsed, concepts = self._parse(text)
        if parsed.image is not None:
            raise BadQuery("locate looks for words in a photo: give a concept name or a text")
        clip, seen = self.clip(), self.photo_vector(Path(photo))
        rivals = self._fixed_texts(clip, background_prompts())
        if context := _context(parsed, concepts):
            rivals = np.vstack([rivals, clip.encode_texts(context)])
        size = upright_size(Path(photo))
        targets = self._locate_targets(text, parsed, concepts, Path(photo))
        located = []
        for name, vector, threshold in targets:
            others = np.array([v for n, v, _ in targets if n != name]).reshape(-1, clip.dim)
            score = (
                float(seen @ vector)
                if threshold is None
                else self._photo_score(photo, vector, seen)
            )
            evidence = (score, threshold)
            where = locate(clip, decoded, (name, vector), (rivals, others), evidence)
            located.append(replace(where, size=size))
        return located

    def _locate_targets(
        self, text: str, parsed: ParsedQuery, concepts: dict[str, Concept], photo: Path
    ) -> list[tuple[str, np.ndarray, float | None]]:
        """(name, vector, the photo's album cut) per concept of the query, or the whole query."""
        if not parsed.concepts:
            return [(text.strip(), self._vector(parsed, concepts), None)]
        targets: list[tuple[str, np.ndarray, float | None]] = []
        for name in dict.fromkeys(parsed.concepts):
            concept = self._usable(concepts[name])
            vector = self._concept_vector(concept)
            targets.append((name, vector, self._photo_cut(concept, vector, photo)))
        return targets

    def suggest_kinds(self, photos: Sequence[Path], top: int = 3) -> list[tuple[str, float]]:
        """Zero-shot guesses of what kind of thing the photos show, from the shipped word list."""
        kinds = self._kind_words()
        clip = self.clip()
        shots = clip.encode_images([self._decode(Path(p)) for p in photos]).mean(axis=0)
        texts = self._fixed_texts(clip, [f"a photo of a {k}" for k in kinds])
        logits = 100.0 * texts @ (shots / np.linalg.norm(shots))
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = np.argsort(-probs)[:top]
        return [(kinds[i], float(probs[i])) for i in best]

    @staticmethod
    def _kind_words() -> list[str]:
        return word_list("words/kinds.txt")

    def _fixed_texts(self, clip: ClipModel, prompts: Sequence[str]) -> np.ndarray:
        """Vectors of a shipped prompt list (kinds, backgrounds), encoded once per model."""
        key = (clip.identity, tuple(prompts))
        if key not in self._text_cache:
            self._text_cache[key] = clip.encode_texts(list(prompts))
        return self._text_cache[key]

    # --- concepts -------------------------------------------------------------------------
    def _decode(self, path: Path) -> Image.Image:
        return read_photo(path, self.clip().image_size)

    def learn(
        self,
        name: str,
        kind: str,
        photos: Sequence[Path],
        negatives: Sequence[Path] = (),
        settings: LearnSettings | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> LearnReport:
        """Learn (or re-learn) a concept from photos; nothing is written unless it succeeds.

        Re-learning a concept keeps its earlier answers: "yes" photos stay examples and "no"
        photos (and "Not ⟨name⟩") stay negatives, unless this request says otherwise."""
        started = time.perf_counter()
        kind = self._checked_request(name, kind, photos, negatives)
        earlier = self.concepts.get(name) if self.concepts.exists(name) else None
        refs = [self._photo_ref(Path(p).resolve()) for p in photos]
        rejected = [self._photo_ref(Path(p).resolve()) for p in negatives]
        clip = self.clip()
        concept = Concept(
            name=name.strip(),
            kind=kind,
            word=torch.zeros(clip.word_width),
            model=clip.identity,
            photos=refs,
            negatives=_without(_merged(earlier.negatives if earlier else [], rejected), refs),
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            confirmed=_without(earlier.confirmed if earlier else [], rejected + refs),
        )
        settings = settings or LearnSettings()
        stats = self._fit(concept, settings, None, progress, cancel)
        with self._write_lock:
            self.concepts.save(concept)
        seconds = time.perf_counter() - started
        warning = self.name_warning(concept.name)
        return LearnReport(
            concept.name, kind, len(photos), settings.steps, seconds, stats["init"], warning
        )

    def _fit(
        self,
        concept: Concept,
        settings: LearnSettings,
        start: torch.Tensor | None,
        progress: Progress | None,
        cancel: threading.Event | None,
        held: frozenset[int] | None = None,
    ) -> dict:
        """Tune the concept's word from its examples and answers (from `start`, else f_θ's
        guess or the kind word), then cut its album (`held`: see _cut_album); returns the
        learning stats."""
        clip = self.clip()
        examples, answers = self._view_photos(concept.photos), self._view_photos(concept.confirmed)
        photos = examples + answers + self._view_photos(concept.negatives)
        encoded = self._views.views(clip, photos, settings, cancel, progress or no_progress)
        shot_views, negative_views = split_views(encoded, len(examples) + len(answers), settings)
        views = weighted_shot_views(shot_views, len(examples), len(answers), settings)
        sample = self._library_sample()
        wants_guess = start is None and settings.use_inverter
        word, stats = tune_word(
            clip,
            concept.kind,
            views,
            negative_views,
            start,
            settings,
            progress,
            cancel,
            library=None if sample is None else sample.mean(axis=0),
            inverter=Inverter.load(self.home.inverters_dir, clip.identity) if wants_guess else None,
        )
        concept.word = word.detach().float().cpu()
        concept.settings = {**stats, "steps": settings.steps, "seed": settings.seed}
        self._cut_album(concept, held)
        return stats

    def _cut_album(self, concept: Concept, held: frozenset[int] | None = None) -> Cut:
        """Set the concept's album threshold for its word; `held`: the album's photo ids
        before a re-tune, which the answers then move only clearly (tagging.HeldAlbum)."""
        cut = self._calibrated(concept, self._concept_vector(concept))
        concept.threshold = cut.threshold
        concept.settings["album_score"] = ALBUM_SCORE
        concept.held = None if held is None else held_album(held, self.catalog.newest_id(), cut)
        return cut

    def _view_photos(self, refs: list[dict]) -> list[ViewPhoto]:
        """The referenced photos on disk, for the view cache (keyed by content digest)."""
        return [
            ViewPhoto(ref["digest"], partial(self._decode, path), path.stat().st_mtime_ns)
            for path, ref in ((Path(r["path"]), r) for r in refs)
            if path.is_file()
        ]

    def _retune(
        self, concept: Concept, progress: Progress | None, cancel: threading.Event | None
    ) -> None:
        """After its examples or answers changed: re-tune from the current word, hold the
        album as it stood, and save."""
        held = self._album_ids(concept, self._concept_vector(concept))
        settings = LearnSettings(steps=RETUNE_STEPS)
        self._fit(concept, settings, concept.word.clone(), progress, cancel, held)
        with self._write_lock:
            self.concepts.save(concept)

    def relearn(
        self,
        names: Sequence[str] = (),
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> list[RelearnReport]:
        """Learn the concepts (those named, else all) again for the model in use, from their
        examples and answers (found by content where they moved); a concept already learned
        with this model is left as it is. Each is saved as soon as it is done."""
        concepts = [self.concepts.get(n) for n in names] if names else self.concepts.list()
        identity = self.clip().identity
        progress = progress or no_progress
        reports = []
        for done, concept in enumerate(concepts):
            check_cancel(cancel)
            progress(f"Re-learning {concept.name}", done, len(concepts))
            reports.append(self._relearn(concept, identity, cancel))
        progress("Re-learning concepts", len(concepts), len(concepts))
        return reports

    def _relearn(
        self, concept: Concept, identity: str, cancel: threading.Event | None
    ) -> RelearnReport:
        started = time.perf_counter()
        if concept.model == identity:
            return RelearnReport(concept.name, UP_TO_DATE)
        kept = self.concepts.version(concept, identity)
        if kept is not None:
            with self._write_lock:
                self.concepts.save(kept)
            return RelearnReport(concept.name, REUSED, seconds=time.perf_counter() - started)
        found = find_photos(concept, self.catalog.paths_by_digest)
        if not found.found:
            return RelearnReport(concept.name, NEEDS_PHOTOS, missing=found.missing)
        word = torch.zeros(self.clip().word_width)
        fresh = replace(
            found.concept, word=word, model=identity, settings={}, threshold=None, held=None
        )
        self._fit(fresh, LearnSettings(), None, None, cancel)
        with self._write_lock:
            self.concepts.save(fresh)
        seconds = time.perf_counter() - started
        return RelearnReport(
            concept.name, RELEARNED, found.found, found.moved, found.missing, seconds
        )

    def _checked_request(
        self, name: str, kind: str, photos: Sequence[Path], negatives: Sequence[Path]
    ) -> str:
        """The kind, stripped, once name, kind and photos are all usable (else a user error)."""
        if not photos:
            raise PhotoUnreadable("give at least one photo of the concept")
        both = {Path(p).resolve() for p in photos} & {Path(p).resolve() for p in negatives}
        if both:
            raise FluffyError(f"{min(both)} is given both as an example and as a negative")
        if not kind.strip():
            raise FluffyError("say what kind of thing it is with --kind (for example: cat)")
        self.concepts.check_name(name)
        return kind.strip()

    def inverter_guess(self, shot_vectors: np.ndarray) -> torch.Tensor | None:
        """f_θ's first guess at the word from the shots' embeddings, when an inverter was
        trained for this model."""
        inverter = Inverter.load(self.home.inverters_dir, self.clip().identity)
        return inverter.predict(shot_vectors) if inverter else None

    @staticmethod
    def _photo_ref(path: Path) -> dict:
        """The path and content digest of a photo the user named (PhotoUnreadable if gone)."""
        try:
            return {"path": str(path), "digest": content_digest(path)}
        except OSError as exc:
            raise PhotoUnreadable(f"cannot read {path}: {exc.strerror or exc}") from exc

    def add_negative(
        self,
        name: str,
        photo: Path,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> dict:
        """Mark a photo as "not this concept" and re-tune the concept with it."""
        return self.answer(name, [photo], False, progress, cancel)

    # --- tagging (engine/tagging.py) -------------------------------------------------------
    def _concept_vector(self, concept: Concept) -> np.ndarray:
        """The embedding of the concept's name alone, as a search for it makes it: its current
        word and its examples' mean photo (kept per name until the model, kind, word or
        examples change)."""
        clip = self.clip()
        photo = self._example_photo(concept)
        shown = b"" if photo is None else photo.tobytes()
        key = (clip.identity, concept.kind, concept.word.numpy().tobytes(), shown)
        kept = self._concept_cache.get(concept.name)
        if kept is None or kept[0] != key:
            parsed = parse_query(f"[{concept.name}]", {concept.name: concept.kind})
            photos = {} if photo is None else {concept.name: photo}
            vector = query_vector(clip, parsed, {concept.name: concept.word}, photos)
            kept = self._concept_cache[concept.name] = (key, vector)
        return kept[1]

    def _photo_score(
        self, photo: Path, vector: np.ndarray, seen: np.ndarray | None = None
    ) -> float:
        """A photo's album score (regions.album_scores); `seen`: its embedding, if at hand."""
        own = np.array([float((self.photo_vector(photo) if seen is None else seen) @ vector)])
        return float(album_scores(own, [self.photo_regions(photo)], vector)[0])

    def _indexed_scores(self, ids: list[int], own: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Album scores of library photos from their own scores and their stored regions."""
        regions = self.catalog.regions_for(ids, len(vector))
        return album_scores(own, [regions.get(photo_id) for photo_id in ids], vector)

    def _scores(self, vector: np.ndarray, refs: list[dict]) -> dict[Path, float]:
        """Album score of each referenced photo that is still readable."""
        return {p: self._photo_score(p, vector) for p in _present(refs)}

    def _library_scores(self, vector: np.ndarray) -> np.ndarray:
        """Album scores of the library sample (none for an empty library)."""
        ids = self._library_sample_ids()
        if ids is None:
            return np.zeros(0)
        return self._indexed_scores(
            ids.tolist(), self.catalog.vectors_for(ids.tolist()) @ vector, vector
        )

    def _calibrated(self, concept: Concept, vector: np.ndarray) -> Cut:
        """The album threshold (tagging.calibrate) for the concept's vector."""
        examples = self._scores(vector, concept.photos + concept.confirmed)
        return calibrate(
            np.array(list(examples.values())),
            np.array(list(self._scores(vector, concept.negatives).values())),
            self._library_scores(vector),
        )

    def _threshold(self, concept: Concept, vector: np.ndarray) -> float:
        """The stored threshold, or one calibrated and saved now: for a concept learned before
        tagging, or calibrated on another album score (regions.ALBUM_SCORE)."""
        if concept.threshold is not None and concept.settings.get("album_score") == ALBUM_SCORE:
            return concept.threshold
        threshold = self._cut_album(concept).threshold
        try:
            with self._write_lock:
                self.concepts.save(concept)
        except FluffyError as exc:  # a home that cannot be written calibrates next time too
            log.warning("cannot save the threshold of %s: %s", concept.name, exc)
        return threshold

    def _photo_cut(self, concept: Concept, vector: np.ndarray, photo: Path) -> float:
        """The album score at which this photo is in the concept's album."""
        threshold, held = self._threshold(concept, vector), concept.held
        record = None if held is None else self._indexed(photo)
        return threshold if held is None or record is None else held.cut(record.id, threshold)

    def _scored(self, vector: np.ndarray, threshold: float) -> list[Ranked]:
        """The library photos nearest a concept's vector, with their scores, best first: SCAN
        of them, and four times as many while the last still scores at least the threshold
        (an album of more than SCAN photos, a pet in a large library)."""
        size = max(1, len(self.vector_index()))
        k = min(SCAN, size)
        while True:
            ranked = self._album_ranked(self.nearest(vector, k), vector)
            if k >= size or not ranked or ranked[-1].score < threshold:
                return ranked
            k = min(4 * k, size)

    def _album_ranked(self, hits: list[SearchHit], vector: np.ndarray) -> list[Ranked]:
        """The hits by their album scores (regions.album_scores), best first."""
        own = np.array([hit.score for hit in hits], dtype=np.float32)
        joined = self._indexed_scores([hit.photo_id for hit in hits], own, vector)
        order = np.argsort(-joined, kind="stable")
        return [Ranked(hits[i].path, float(joined[i]), hits[i].photo_id) for i in order]

    def _learned(self, name: str) -> Concept:
        """The concept, which must have been learned with this model."""
        return self._usable(self.concepts.get(name))

    def _members(self, concept: Concept, vector: np.ndarray) -> list[Member]:
        return self._album(concept, vector)[0]

    def _album(self, concept: Concept, vector: np.ndarray) -> tuple[list[Member], list[Ranked]]:
        """The album's members, and the ranked library photos they were cut from."""
        threshold = self._threshold(concept, vector)
        held = concept.held
        ranked = self._scored(vector, threshold if held is None else min(threshold, held.stay))
        members = album_members(
            ranked,
            self._scores(vector, concept.photos),
            self._scores(vector, concept.confirmed),
            {Path(r["path"]) for r in concept.negatives},
            threshold,
            held,
        )
        return members, ranked

    def _album_ids(self, concept: Concept, vector: np.ndarray) -> frozenset[int]:
        """The catalog ids of the album's library photos."""
        members, ranked = self._album(concept, vector)
        inside = {m.path for m in members}
        return frozenset(r.photo_id for r in ranked if r.path in inside)

    def concept_photos(self, name: str) -> tuple[Concept, list[Member]]:
        """The concept and its album: examples, "yes" answers, and photos above its threshold."""
        concept = self._learned(name)
        return concept, self._members(concept, self._concept_vector(concept))

    def concept_ranking(self, name: str) -> list[tuple[Path, float]]:
        """The library photos nearest the concept with their scores, best first: what its
        album is cut from."""
        concept = self._learned(name)
        vector = self._concept_vector(concept)
        return [(r.path, r.score) for r in self._scored(vector, self._threshold(concept, vector))]

    def review(self, name: str, n: int = 10) -> list[Member]:
        """The n photos whose answer would help most: unanswered, nearest the threshold."""
        if n < 1:
            raise FluffyError("-n must be at least 1")
        concept = self._learned(name)
        vector = self._concept_vector(concept)
        answered = {Path(r["path"]) for r in concept.photos + concept.confirmed + concept.negatives}
        threshold = self._threshold(concept, vector)
        return review_candidates(self._scored(vector, threshold), answered, threshold, n)

    def answer(
        self,
        name: str,
        photos: Sequence[Path],
        yes: bool,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> dict:
        """Record "this is ⟨name⟩" (yes) or "this is not" answers and re-tune the concept from
        its current word; the `confirm`/`reject --json` document. A "no" for an example takes
        it out of the examples; a "yes" for one leaves it an example."""
        started = time.perf_counter()
        concept = self._learned(name)
        missing = [p for p in photos if not Path(p).is_file()]
        if not photos or missing:
            raise PhotoUnreadable(f"no photo at {missing[0]}" if missing else "name the photos")
        refs = [self._photo_ref(Path(p).resolve()) for p in photos]
        if yes:
            examples = {r["path"] for r in concept.photos}
            new = [r for r in refs if r["path"] not in examples]
            concept.confirmed = _merged(concept.confirmed, new)
            concept.negatives = _without(concept.negatives, refs)
        else:
            kept, confirmed = _without(concept.photos, refs), _without(concept.confirmed, refs)
            if not kept and not confirmed:
                raise FluffyError(f"{concept.name} needs at least one example photo: keep one")
            concept.photos, concept.confirmed = kept, confirmed
            concept.negatives = _merged(concept.negatives, refs)
        self._retune(concept, progress, cancel)
        members = self._members(concept, self._concept_vector(concept))
        return {
            "name": concept.name,
            "confirmed" if yes else "rejected": len(refs),
            "photos": len(members),
            "seconds": round(time.perf_counter() - started, 3),
        }

    def forget(
        self,
        name: str,
        photo: Path,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """Remove a photo from the concept's examples or answers, and re-tune without it."""
        concept = self._learned(name)
        gone = [{"path": str(Path(photo))}]
        if gone[0]["path"] not in {
            r["path"] for r in concept.photos + concept.confirmed + concept.negatives
        }:
            raise PhotoUnreadable(f"{photo} is not an example or an answer of {concept.name}")
        kept = _without(concept.photos, gone)
        if not kept and not _without(concept.confirmed, gone):
            raise FluffyError(f"{concept.name} needs at least one example photo: keep this one")
        concept.photos, concept.confirmed = kept, _without(concept.confirmed, gone)
        concept.negatives = _without(concept.negatives, gone)
        self._retune(concept, progress, cancel)

    def export_tags(self, names: Sequence[str] = (), dry_run: bool = False) -> ExportReport:
        """XMP sidecar keywords for the albums of these concepts (all when none are named)."""
        concepts = [self.concepts.get(n) for n in names] if names else self.concepts.list()
        keywords: dict[Path, list[str]] = {}
        for concept in concepts:
            _, members = self.concept_photos(concept.name)
            for member in members:
                if member.path.is_file():
                    keywords.setdefault(member.path, []).append(concept.name)
        return export_keywords(keywords, dry_run)

    def copy_album(self, name: str, folder: Path, link: bool = False) -> dict:
        """Copy (or link) the photos of a concept's album into a folder: {"copied", "skipped"}."""
        _, members = self.concept_photos(name)
        return copy_photos([m.path for m in members if m.path.is_file()], Path(folder), link)

    def train_inverter(
        self,
        images: Path | None,
        steps: int,
        width: int,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> dict:
        """Train f_θ for the current model and save it under the home directory."""
        if images is not None and not Path(images).is_dir():
            raise FluffyError(f"{images} is not a folder of class-named subfolders")
        inverter, stats = train_inverter(
            self.clip(), images, steps, width, progress, cancel, library=self._library_sample()
        )
        with self._write_lock:
            inverter.save(self.home.inverters_dir)
        return stats

    def _library_sample_ids(self, size: int = LIBRARY_SAMPLE) -> np.ndarray | None:
        """Up to `size` of the library's embedded photos (a fixed random pick), or None if
        there are none for the model in use."""
        ids = self.catalog.vector_ids()
        if len(ids) == 0 or self.catalog.get_meta("model") != self.clip().identity:
            return None
        if len(ids) > size:
            ids = np.random.default_rng(0).choice(ids, size, replace=False)
        return ids

    def _library_sample(self, size: int = LIBRARY_SAMPLE) -> np.ndarray | None:
        """Up to `size` of the library's photo vectors (a fixed random pick), or None if empty."""
        ids = self._library_sample_ids(size)
        return None if ids is None else self.catalog.vectors_for(ids.tolist())

    # --- status ---------------------------------------------------------------------------
    def status(self) -> dict:
        """What is in the library, and how much of it is ready for the model in use ("embedded"
        and "concept_states" are None when that model is not on this computer)."""
        state = self.model_state()
        return {
            "home": str(self.home.root),
            "log": str(self.home.log_file),
            "folders": [str(p) for p in self.folders()],
            "photos": self.catalog.count("ok") + self.catalog.count("pending"),
            "embedded": state.embedded if state else None,
            "failed": self.catalog.count("failed"),
            "unreadable": [
                {"path": str(record.path), "error": record.error}
                for record in self.catalog.failures()[:UNREADABLE_LISTED]
            ],
            "concepts": self.concepts.names(),
            "concept_states": state.concepts if state else None,
            "model": {
                "arch": self.spec.arch,
                "pretrained": self.spec.pretrained,
                "weights": str(self.spec.weights) if self.spec.weights else None,
                "indexed_with": self.catalog.get_meta("model"),
                "current": self.model_identity(),
            },
        }


def _present(refs: list[dict]) -> list[Path]:
    """The referenced photos that are on disk (a missing one is left out, not an error)."""
    return [Path(r["path"]) for r in refs if Path(r["path"]).is_file()]


def _merged(refs: list[dict], more: list[dict]) -> list[dict]:
    """refs with more added, one entry per path (the newer reference wins)."""
    paths = {r["path"] for r in more}
    return [r for r in refs if r["path"] not in paths] + more


def _without(refs: list[dict], gone: list[dict]) -> list[dict]:
    paths = {r["path"] for r in gone}
    return [r for r in refs if r["path"] not in paths]


def _context(parsed: ParsedQuery, concepts: dict[str, Concept]) -> list[str]:
    """The query's words other than its concepts ("on the sofa"), if it names concepts and has
    any: a rival when locating them, and what makes search look at photos' regions."""
    prompt = parsed.prompt
    for name in parsed.concepts:
        prompt = prompt.replace(concept_slot(concepts[name].kind), " ")
    words = " ".join(prompt.replace("'s", " ").split())
    return [words] if any(ch.isalnum() for ch in words) and parsed.concepts else []
