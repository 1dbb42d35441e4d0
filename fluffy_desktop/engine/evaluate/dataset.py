"""Reading a prepared PerVL folder and its caption file (layouts in shared/pervl/README.md).

DeepFashion2: `image_name,pair_id,caption`; the first "person" in a caption is the slot; kinds
come from the coarse-name file (`unique_pair_ids,pair_id_categories`).
YouTube-VOS: `image_name,coarse_grained_class,caption,class_id`; "*" is the slot.
Both: gallery `eval/test/*`, shot pools `codes_infer/<concept id>/*`. Caption rows whose image
is not in this folder's gallery (the caption files also cover the other split) are skipped.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from fluffy_desktop.engine.clip import PLACEHOLDER
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.images import is_image_name

DEEPFASHION = "deepfashion2"
YTVOS = "ytvos"
COLUMNS = {
    DEEPFASHION: {"image_name", "pair_id", "caption"},
    YTVOS: {"image_name", "coarse_grained_class", "caption", "class_id"},
}
COARSE_COLUMNS = ("unique_pair_ids", "pair_id_categories")
_PERSON = re.compile(r"\bperson\b")


@dataclass(frozen=True)
class Query:
    """One caption: its gallery image is the single correct answer."""

    image: Path
    concept: str
    kind: str
    template: str  # the caption with "{}" at the slot


@dataclass(frozen=True)
class PervlSet:
    dataset: str
    gallery: list[Path]
    queries: list[Query]
    pools: dict[str, list[Path]]  # concept id → its shot pool
    skipped: int  # caption rows without an image in this folder


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name))


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            return list(reader.fieldnames or []), list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FluffyError(f"cannot read {path}: {exc}") from exc


def detect_dataset(columns: list[str], path: Path) -> str:
    """Which split a caption file belongs to, from its columns."""
    for name in (YTVOS, DEEPFASHION):
        if COLUMNS[name] <= set(columns):
            return name
    raise FluffyError(
        f"{path} is not a PerVL caption file (columns {', '.join(columns) or 'none'}): give "
        "e.g. shortened_deepfashion2_captions.csv or cleaned_captions_ytvos_test.csv"
    )


def read_coarse(path: Path | None) -> dict[str, str]:
    """pair id → coarse garment name ("skirt", "short sleeve top", …)."""
    if path is None:
        raise FluffyError(
            "DeepFashion2 captions need --coarse train_coarse_grained_names.csv "
            "(the garment name of each pair id)"
        )
    columns, rows = _read_csv(path)
    if not set(COARSE_COLUMNS) <= set(columns):
        raise FluffyError(f"{path} is not a coarse-name file: expected {', '.join(COARSE_COLUMNS)}")
    return {row[COARSE_COLUMNS[0]].strip(): row[COARSE_COLUMNS[1]].strip() for row in rows}


def slot_template(caption: str, dataset: str) -> str | None:
    """The caption with "{}" at the slot (the first "person", or the first "*"), other
    placeholders dropped; None when the caption has no slot."""
    caption = caption.replace("{", "(").replace("}", ")")
    if dataset == DEEPFASHION:
        template = _PERSON.sub("{}", caption.replace(PLACEHOLDER, " "), count=1)
    else:
        template = caption.replace(PLACEHOLDER, "{}", 1).replace(PLACEHOLDER, " ")
    return template if "{}" in template else None


def _query(row: dict[str, str], dataset: str, data: Path, coarse: dict[str, str]) -> Query | None:
    """A query from a caption row, or None when its image is not in this folder."""
    gallery = data / "eval" / "test"
    name = Path(row["image_name"].strip()).name
    if dataset == DEEPFASHION:
        concept = row["pair_id"].strip()
        image = gallery / name
        kind = coarse.get(concept)
        if kind is None and image.is_file():
            raise FluffyError(f"pair id {concept} has no coarse name in the --coarse file")
    else:
        concept, kind = row["class_id"].strip(), row["coarse_grained_class"].strip()
        image = gallery / f"{concept}.jpg"
        image = image if image.is_file() else gallery / name
    template = slot_template(row["caption"], dataset)
    if not image.is_file() or template is None or not kind:
        return None
    return Query(image, concept, kind, template)


def load_pervl(data: Path, captions: Path, coarse: Path | None = None) -> PervlSet:
    """The gallery, queries and shot pools of a prepared PerVL folder."""
    data = Path(data)
    columns, rows = _read_csv(Path(captions))
    dataset = detect_dataset(columns, Path(captions))
    gallery = _images(data / "eval" / "test")
    if not gallery:
        raise FluffyError(
            f"{data / 'eval' / 'test'} has no images: give the prepared PerVL folder "
            "(the one holding eval/test and codes_infer)"
        )
    names = read_coarse(coarse) if dataset == DEEPFASHION else {}
    found = [_query(row, dataset, data, names) for row in rows]
    concepts = dict.fromkeys(q.concept for q in found if q is not None)
    pools = {c: _images(data / "codes_infer" / c) for c in concepts}
    queries = [q for q in found if q is not None and pools[q.concept]]
    if not queries:
        raise FluffyError(
            f"no caption in {captions} has its image and shot pool in {data}: "
            "check that the caption file belongs to this split"
        )
    used = {q.concept for q in queries}
    return PervlSet(
        dataset,
        gallery,
        queries,
        {c: p for c, p in pools.items() if c in used},
        skipped=len(rows) - len(queries),
    )
