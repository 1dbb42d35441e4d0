"""Where a concept's example photos and answers are now.

A reference is found at its stored path while the content there is still its own; else
wherever the library holds the same content (a moved or renamed photo, found by its digest);
else at its path when a file is still there (edited in place). The rest are missing: they
stay in the concept, so a photo on a drive that comes back is used again. `find_photos` serves
re-learning; `follow_moves`, run after indexing, only looks for the photos no longer at their
paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from fluffy_desktop.engine.catalog import content_digest
from fluffy_desktop.engine.concepts.store import Concept

# digests → the library's paths holding each (Catalog.paths_by_digest)
DigestLookup = Callable[[Sequence[str]], dict[str, list[Path]]]


@dataclass(frozen=True)
class Whereabouts:
    """The concept with its references pointing where the photos are now, and a tally of
    its examples and "yes" answers (the photos it learns from)."""

    concept: Concept
    found: int
    moved: int
    missing: int


def _digest(path: Path) -> str:
    try:
        return content_digest(path)
    except OSError:
        return ""


def _now(ref: dict, library: dict[str, list[Path]]) -> tuple[dict, str]:
    """The reference as it is now, and "found", "moved" or "missing"."""
    path = Path(ref["path"])
    if path.is_file() and _digest(path) == ref["digest"]:
        return ref, "found"
    elsewhere = [p for p in library.get(ref["digest"], []) if p.is_file()]
    if elsewhere:
        return {"path": str(elsewhere[0]), "digest": ref["digest"]}, "moved"
    return ref, "found" if path.is_file() else "missing"


def find_photos(concept: Concept, lookup: DigestLookup) -> Whereabouts:
    """Every reference of the concept looked for (see the module docstring)."""
    refs = concept.photos + concept.confirmed + concept.negatives
    library = lookup([r["digest"] for r in refs])
    photos, confirmed, negatives = (
        [_now(ref, library) for ref in found]
        for found in (concept.photos, concept.confirmed, concept.negatives)
    )
    states = [state for _, state in photos + confirmed]
    moved = replace(
        concept,
        photos=[ref for ref, _ in photos],
        confirmed=[ref for ref, _ in confirmed],
        negatives=[ref for ref, _ in negatives],
    )
    missing = states.count("missing")
    return Whereabouts(moved, len(states) - missing, states.count("moved"), missing)


def follow_moves(concept: Concept, lookup: DigestLookup) -> Concept | None:
    """The concept with each reference whose file is gone pointed at where the library now
    holds its content; None when none moved. Photos still at their paths are not read."""
    refs = concept.photos + concept.confirmed + concept.negatives
    gone = [r["digest"] for r in refs if not Path(r["path"]).is_file()]
    library = lookup(gone) if gone else {}
    if not any(p.is_file() for paths in library.values() for p in paths):
        return None

    def now(found: list[dict]) -> list[dict]:
        return [r if Path(r["path"]).is_file() else _now(r, library)[0] for r in found]

    return replace(
        concept,
        photos=now(concept.photos),
        confirmed=now(concept.confirmed),
        negatives=now(concept.negatives),
    )
