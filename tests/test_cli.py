"""The CLI contract of DESIGN.md, driven as a user (or a script) drives it: in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]


def fluffy_process(env: dict, *args: str | Path) -> subprocess.CompletedProcess:
    """`fluffy` in its own process: what a script sees (exit code, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "fluffy_desktop", *map(str, args)],
        env=env,
        capture_output=True,
        timeout=180,
    )


def as_json(result: subprocess.CompletedProcess):
    return json.loads(result.stdout)


def user_error(result: subprocess.CompletedProcess) -> str:
    """Assert exit code 2 with exactly one line on stderr and no traceback; return the line."""
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def library(tmp_path) -> Path:
    """Eight photos in nested folders, one per colour, each with a white disc somewhere."""
    root = tmp_path / "photos"
    for i, colour in enumerate(COLOURS):
        folder = root / ("holiday" if i % 2 else "home") / ("deep" if i % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (96, 64), colour)
        ImageDraw.Draw(image).ellipse((8 * i, 10, 8 * i + 30, 40), fill="white")
        image.save(folder / f"{colour}.jpg")
    return root


def test_index_and_search_follow_the_contract(fluffy, tiny_env, library):
    report = as_json(fluffy(tiny_env, "index", library, "--json"))
    assert set(report) == {"added", "updated", "removed", "unchanged", "failed", "total", "seconds"}
    assert (report["added"], report["total"], report["failed"]) == (8, 8, [])

    found = as_json(fluffy(tiny_env, "search", "a red photo", "-k", "3", "--json"))
    assert found["query"] == "a red photo"
    assert [set(hit) for hit in found["results"]] == [{"path", "score"}] * 3
    scores = [hit["score"] for hit in found["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(Path(hit["path"]).is_absolute() for hit in found["results"])

    everything = as_json(fluffy(tiny_env, "search", "anything", "-k", "100", "--json"))
    assert len(everything["results"]) == 8

    again = as_json(fluffy(tiny_env, "index", "--json"))
    assert (again["added"], again["unchanged"], again["total"]) == (0, 8, 8)


IMAGE_SIDE = ("open_clip", "torchvision", "timm", "torch._dynamo")
LOADED_REPORT = f"""
import sys
from fluffy_desktop.cli import main
code = main(sys.argv[1:])
print("imported:", *(name for name in {IMAGE_SIDE!r} if name in sys.modules), file=sys.stderr)
raise SystemExit(code)
"""


def _loaded_image_side(env: dict, *args: str | Path) -> tuple[str, list[str]]:
    """Run `fluffy ARGS` in a fresh process: (stdout, which image-side packages it imported)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_REPORT, *map(str, args)], env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = done.stderr.decode().strip().splitlines()[-1]
    return done.stdout.decode(), report.removeprefix("imported:").split()


def test_search_and_indexing_start_without_importing_open_clip(fluffy, tiny_env, library):
    """Both towers are computed from the weights (test_image_tower and test_text_tower hold
    them equal to open_clip's): open_clip, torchvision, timm and torch._dynamo (2.3 s to
    import on 2 cores) stay unloaded by a search and by encoding a new photo."""
    fluffy(tiny_env, "index", library, "--json")
    expected = as_json(fluffy(tiny_env, "search", "a red photo", "--json"))
    out, loaded = _loaded_image_side(tiny_env, "search", "a red photo", "--json")
    assert loaded == []
    assert json.loads(out) == expected
    Image.new("RGB", (64, 64), "teal").save(library / "new.jpg")
    out, loaded = _loaded_image_side(tiny_env, "index", library, "--json")
    assert json.loads(out)["added"] == 1
    assert loaded == []


def test_a_first_answer_imports_neither_open_clip_nor_torchs_compiler(fluffy, tiny_env, library):
    """A fresh `fluffy confirm` encodes the photo and re-tunes the word: neither needs
    open_clip (2.3 s on 2 cores) nor torch._dynamo (1.7 s, which torch.optim imports)."""
    fluffy(tiny_env, "index", library, "--json")
    photos = sorted(library.rglob("*.jpg"))
    fluffy(tiny_env, "learn", "Rex", *photos[:2], "--kind", "dog", "--json")
    out, loaded = _loaded_image_side(tiny_env, "confirm", "Rex", photos[3], "--json")
    assert json.loads(out)["confirmed"] == 1
    assert loaded == []


def test_status_reports_the_library(fluffy, tiny_env, library):
    out = fluffy(tiny_env, "index", library).stdout.decode()
    assert "looked closer at 8 photos, for small things" in out
    status = as_json(fluffy(tiny_env, "status", "--json"))
    assert status["folders"] == [str(library.resolve())]
    assert (status["photos"], status["failed"], status["unreadable"]) == (8, 0, [])
    (library / "broken.jpg").write_text("not a photo")
    fluffy(tiny_env, "index")
    status = as_json(fluffy(tiny_env, "status", "--json"))
    assert status["failed"] == 1
    assert [u["path"] for u in status["unreadable"]] == [str((library / "broken.jpg").resolve())]
    assert b"broken.jpg" in fluffy(tiny_env, "status").stdout


def test_missing_weights_file_is_a_one_line_user_error(tiny_env, library, tmp_path):
    env = {**tiny_env, "FLUFFY_WEIGHTS": str(tmp_path / "missing.safetensors")}
    line = user_error(fluffy_process(env, "index", library))
    assert "missing.safetensors" in line and "--weights" in line


def test_no_network_and_no_weights_says_how_to_get_a_model(tiny_env, tmp_path):
    env = {k: v for k, v in tiny_env.items() if not k.startswith("FLUFFY_")}
    env.update(FLUFFY_HOME=str(tmp_path / "fresh"), HF_ENDPOINT="http://127.0.0.1:9")
    line = user_error(fluffy_process(env, "search", "a cat"))
    assert "--weights" in line
    assert not list((tmp_path / "fresh").glob("**/*.safetensors"))


def test_a_rescan_without_folders_says_how_to_add_one(fluffy, tiny_env):
    assert b"fluffy index FOLDER" in fluffy(tiny_env, "index").stdout
    assert as_json(fluffy(tiny_env, "index", "--json"))["total"] == 0


def test_indexing_a_missing_folder_is_a_user_error(fluffy, tiny_env, tmp_path):
    line = user_error(fluffy(tiny_env, "index", tmp_path / "nowhere", check=False))
    assert "nowhere" in line


def test_non_utf8_names_round_trip_through_json(tiny_env, tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    raw = os.fsencode(root) + b"/caf\xe9-\xff.jpg"
    Image.new("RGB", (40, 40), "red").save(raw.decode("utf-8", "surrogateescape"), "JPEG")
    assert fluffy_process(tiny_env, "index", root).returncode == 0
    found = fluffy_process(tiny_env, "search", "red", "--json")
    assert found.returncode == 0, found.stderr
    hits = as_json(found)["results"]
    assert [os.fsencode(hit["path"]) for hit in hits] == [raw]


def test_learn_then_search_with_the_concept(fluffy, tiny_env, library):
    fluffy(tiny_env, "index", library)
    shots = sorted(library.rglob("*.jpg"))[:3]
    learned = as_json(fluffy(tiny_env, "learn", "Fluffy", "--kind", "cat", *shots, "--json"))
    assert set(learned) == {"name", "kind", "photos", "steps", "seconds"}
    assert (learned["name"], learned["kind"], learned["photos"]) == ("Fluffy", "cat", 3)
    shown = as_json(fluffy(tiny_env, "concepts", "show", "Fluffy", "--json"))
    assert not shown["settings"]["library_contrast"]  # the paper's stage 2, by default

    listed = as_json(fluffy(tiny_env, "concepts", "list", "--json"))
    assert [{k: c[k] for k in ("name", "kind", "photos")} for c in listed] == [
        {"name": "Fluffy", "kind": "cat", "photos": 3}
    ]
    assert set(listed[0]) == {"name", "kind", "photos", "created"}

    plain = as_json(fluffy(tiny_env, "search", "a cat on the sofa", "--json"))
    personal = as_json(fluffy(tiny_env, "search", "Fluffy on the sofa", "--json"))
    assert personal["results"] != plain["results"]

    without = as_json(fluffy(tiny_env, "search", "a sofa -Fluffy", "--json"))
    sofa = as_json(fluffy(tiny_env, "search", "a sofa", "--json"))
    assert len(without["results"]) == len(sofa["results"]) > 0
    assert without["results"] != sofa["results"]


def test_learning_from_an_unreadable_photo_leaves_no_concept(fluffy, tiny_env, library, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    shots = [*sorted(library.rglob("*.jpg"))[:2], bad]
    line = user_error(fluffy(tiny_env, "learn", "Rex", "--kind", "dog", *shots, check=False))
    assert "notes.jpg" in line
    missing = tmp_path / "gone.jpg"
    user_error(fluffy(tiny_env, "learn", "Rex", "--kind", "dog", missing, check=False))
    assert as_json(fluffy(tiny_env, "concepts", "list", "--json")) == []


def test_export_remove_import_gives_identical_scores(fluffy, tiny_env, library, tmp_path):
    fluffy(tiny_env, "index", library)
    fluffy(tiny_env, "learn", "Fluffy", "--kind", "cat", *sorted(library.rglob("*.jpg"))[:2])
    before = as_json(fluffy(tiny_env, "search", "Fluffy at home", "--json"))
    shared = tmp_path / "fluffy.concept"
    fluffy(tiny_env, "concepts", "export", "Fluffy", shared)
    fluffy(tiny_env, "concepts", "rm", "Fluffy")
    user_error(fluffy(tiny_env, "concepts", "show", "Fluffy", check=False))
    fluffy(tiny_env, "concepts", "import", shared)
    after = as_json(fluffy(tiny_env, "search", "Fluffy at home", "--json"))
    assert after == before


def test_unknown_concept_and_bad_query_are_user_errors(fluffy, tiny_env, library):
    fluffy(tiny_env, "index", library)
    user_error(fluffy(tiny_env, "concepts", "rm", "Nobody", check=False))
    user_error(fluffy(tiny_env, "search", "   ", check=False))
    user_error(fluffy(tiny_env, "search", "cat", "-k", "0", check=False))
