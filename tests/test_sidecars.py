"""`fluffy tags export`: XMP sidecar keywords that exiftool reads back, merged, never in photos."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from fluffy_desktop.engine.sidecars import copy_photos, export_keywords, sidecar_path

HOLIDAY = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:creator><rdf:Seq><rdf:li>Ann</rdf:li></rdf:Seq></dc:creator>
   <dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def exiftool(path: Path) -> dict:
    """What exiftool reads from a sidecar (CI installs it; elsewhere the test is skipped)."""
    if shutil.which("exiftool") is None:
        if os.environ.get("CI"):
            pytest.fail("exiftool is missing: .ci/run installs libimage-exiftool-perl")
        pytest.skip("exiftool (Debian: libimage-exiftool-perl) is not installed")
    fields = ["-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject", "-XMP-dc:Creator"]
    out = subprocess.run(["exiftool", "-j", *fields, str(path)], capture_output=True, check=True)
    return json.loads(out.stdout)[0]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "IMG_0001.jpg"
    Image.new("RGB", (8, 8), "orange").save(path)
    return path


def test_a_new_sidecar_carries_both_keyword_fields(photo):
    before = (photo.read_bytes(), photo.stat().st_mtime_ns)
    report = export_keywords({photo: ["Fluffy", "Rex"]})
    assert report.to_json() == {"written": 1, "merged": 0, "skipped": []}
    read = exiftool(sidecar_path(photo))
    assert sorted(as_list(read["Subject"])) == ["Fluffy", "Rex"]
    assert sorted(as_list(read["HierarchicalSubject"])) == ["Fluffy|Fluffy", "Fluffy|Rex"]
    assert (photo.read_bytes(), photo.stat().st_mtime_ns) == before
    assert sidecar_path(photo).name == "IMG_0001.jpg.xmp"


def test_an_existing_sidecar_keeps_what_it_holds_and_gains_no_duplicates(photo):
    sidecar_path(photo).write_text(HOLIDAY)
    assert export_keywords({photo: ["Fluffy"]}).merged == 1
    assert export_keywords({photo: ["Fluffy"]}).to_json() == {
        "written": 0,
        "merged": 0,
        "skipped": [],
    }
    read = exiftool(sidecar_path(photo))
    assert sorted(as_list(read["Subject"])) == ["Fluffy", "Holiday"]
    assert as_list(read["HierarchicalSubject"]) == ["Fluffy|Fluffy"]
    assert read["Creator"] == "Ann"


def test_an_unreadable_sidecar_is_skipped_reported_and_left_alone(photo):
    sidecar_path(photo).write_text("<x:xmpmeta> not xml")
    report = export_keywords({photo: ["Fluffy"]})
    assert report.written == report.merged == 0
    assert report.skipped[0]["path"] == str(sidecar_path(photo))
    assert "cannot read" in report.skipped[0]["error"]
    assert sidecar_path(photo).read_text() == "<x:xmpmeta> not xml"


def test_a_dry_run_counts_and_writes_nothing(photo, tmp_path):
    report = export_keywords({photo: ["Fluffy"]}, dry_run=True)
    assert report.to_json() == {"written": 1, "merged": 0, "skipped": []}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0001.jpg"]


def test_copies_and_links_keep_names_unique_and_never_overwrite(photo, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / photo.name).write_text("already here")
    assert copy_photos([photo, photo], target) == {"copied": 2, "skipped": []}
    assert (target / photo.name).read_text() == "already here"
    names = sorted(p.name for p in target.iterdir())
    assert names == ["IMG_0001-1.jpg", "IMG_0001-2.jpg", "IMG_0001.jpg"]
    assert (target / "IMG_0001-1.jpg").read_bytes() == photo.read_bytes()
    links = tmp_path / "links"
    assert copy_photos([photo], links, link=True)["copied"] == 1
    assert (links / photo.name).resolve() == photo.resolve()
