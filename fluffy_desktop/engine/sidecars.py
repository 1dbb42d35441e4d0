"""Taking albums elsewhere: XMP sidecar keywords (`fluffy tags export`) and copies or links.

Each photo of a concept's album gets `<photo name>.xmp` beside it (the name digiKam and
darktable look for) with the concept's name in dc:subject and `Fluffy|<name>` in
lr:hierarchicalSubject, the two keyword fields digiKam, darktable, Lightroom and exiftool read.
An existing sidecar is merged: its other contents are kept and a keyword already there is not
repeated. A sidecar that cannot be parsed is skipped and reported. Photos are never touched:
this is the one place Fluffy writes beside them, and the write is atomic (temp file + rename).
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.home import atomic_write_bytes

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
ROOT = "Fluffy"  # the top of the keyword hierarchy: Fluffy|<concept name>


def _tag(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


@dataclass
class ExportReport:
    """What `tags export` did (or, in a dry run, would do)."""

    written: int = 0
    merged: int = 0
    skipped: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"written": self.written, "merged": self.merged, "skipped": self.skipped}


def sidecar_path(photo: Path) -> Path:
    return photo.with_name(photo.name + ".xmp")


def _empty() -> ET.Element:
    meta = ET.Element(_tag("x:xmpmeta"))
    rdf = ET.SubElement(meta, _tag("rdf:RDF"))
    ET.SubElement(rdf, _tag("rdf:Description"), {_tag("rdf:about"): ""})
    return meta


def _bag(description: ET.Element, name: str) -> ET.Element:
    """The rdf:Bag under description's `name` property, created when missing."""
    prop = description.find(_tag(name))
    if prop is None:
        prop = ET.SubElement(description, _tag(name))
    bag = prop.find(_tag("rdf:Bag"))
    return bag if bag is not None else ET.SubElement(prop, _tag("rdf:Bag"))


def add_keywords(root: ET.Element, names: Iterable[str]) -> bool:
    """Add each name (and Fluffy|name) unless present; whether anything was added."""
    rdf = root if root.tag == _tag("rdf:RDF") else root.find(_tag("rdf:RDF"))
    if rdf is None:
        raise ValueError("no rdf:RDF element")
    description = rdf.find(_tag("rdf:Description"))
    if description is None:
        description = ET.SubElement(rdf, _tag("rdf:Description"), {_tag("rdf:about"): ""})
    added = False
    for field_name, values in (
        ("dc:subject", list(names)),
        ("lr:hierarchicalSubject", [f"{ROOT}|{n}" for n in names]),
    ):
        bag = _bag(description, field_name)
        present = {(li.text or "") for li in bag.findall(_tag("rdf:li"))}
        for value in values:
            if value not in present:
                ET.SubElement(bag, _tag("rdf:li")).text = value
                added = True
    return added


def _xml(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def export_keywords(keywords: dict[Path, list[str]], dry_run: bool = False) -> ExportReport:
    """Write or merge the sidecar of every photo in `keywords` (photo → concept names)."""
    report = ExportReport()
    for photo, names in sorted(keywords.items()):
        path = sidecar_path(photo)
        exists = path.is_file()
        try:
            root = ET.parse(path).getroot() if exists else _empty()
            changed = add_keywords(root, sorted(names))
        except (ET.ParseError, ValueError, OSError) as exc:
            report.skipped.append({"path": str(path), "error": f"cannot read it: {exc}"})
            continue
        if not changed:
            continue
        if not dry_run:
            try:
                atomic_write_bytes(path, _xml(root))
                if not exists:
                    path.chmod(0o644)  # other photo tools must read it, as they do the photo
            except (FluffyError, OSError) as exc:
                report.skipped.append({"path": str(path), "error": f"cannot write it: {exc}"})
                continue
        if exists:
            report.merged += 1
        else:
            report.written += 1
    return report


def copy_photos(photos: Iterable[Path], folder: Path, link: bool = False) -> dict:
    """Copy (or symlink) photos into folder, keeping names unique; never overwrites a file.

    One-way: Fluffy does not track or remove the copies. Returns {"copied", "skipped"}."""
    folder.mkdir(parents=True, exist_ok=True)
    copied, skipped = 0, []
    for photo in photos:
        target = folder / photo.name
        number = 1
        while target.exists() or target.is_symlink():
            target = folder / f"{photo.stem}-{number}{photo.suffix}"
            number += 1
        try:
            if link:
                target.symlink_to(photo.resolve())
            else:
                shutil.copy2(photo, target)
            copied += 1
        except OSError as exc:
            skipped.append({"path": str(photo), "error": exc.strerror or str(exc)})
    return {"copied": copied, "skipped": skipped}
