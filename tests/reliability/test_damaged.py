"""Index files that are damaged, missing, or made by another model: detected and rebuilt."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ModelSpec
from tests.photos import make_library
from tests.reliability.support import assert_consistent, env_for, fluffy, ok_json
from tests.tinymodel import write_tiny_model

pytestmark = pytest.mark.reliability


def _truncate_half(folder: Path) -> None:
    path = folder / "index.bin"
    os.truncate(path, path.stat().st_size // 2)


def _empty_bin(folder: Path) -> None:
    os.truncate(folder / "index.bin", 0)


def _same_size_garbage(folder: Path) -> None:
    path = folder / "index.bin"
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _no_json(folder: Path) -> None:
    (folder / "index.json").unlink()


def _garbage_json(folder: Path) -> None:
    (folder / "index.json").write_text("{not json")


def _other_model_tag(folder: Path) -> None:
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, "model": "ViT-L-14:0123456789abcdef"}))


def _bigger_count(folder: Path) -> None:
    meta = json.loads((folder / "index.json").read_text())
    (folder / "index.json").write_text(json.dumps({**meta, "count": meta["count"] + 7}))


DAMAGE = [
    _truncate_half,
    _empty_bin,
    _same_size_garbage,
    _no_json,
    _garbage_json,
    _other_model_tag,
    _bigger_count,
]


@pytest.fixture
def indexed(tiny_spec, tmp_path) -> tuple[Path, Path, list[str]]:
    """(home, library, the paths `a photo` finds) of a home with 40 indexed photos."""
    library = tmp_path / "photos"
    make_library(library, 40)
    with Album(tmp_path / "home", tiny_spec) as album:
        album.index([library])
        found = [str(hit.path) for hit in album.search("a photo", 40)]
    return tmp_path / "home", library, found


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_damaged_index_is_rebuilt_from_the_catalog(indexed, tiny_spec, damage):
    home, library, found = indexed
    damage(home / "index")
    with Album(home, tiny_spec) as album:
        assert [str(hit.path) for hit in album.search("a photo", 40)] == found
    assert_consistent(home, library).close()


def test_a_truncated_index_through_the_cli(indexed, tiny_env):
    home, library, found = indexed
    _truncate_half(home / "index")
    result = ok_json(fluffy(env_for(tiny_env, home), "search", "a photo", "-k", "40", "--json"))
    assert [hit["path"] for hit in result["results"]] == found
    assert_consistent(home, library).close()


def test_index_of_another_model_is_replaced(indexed, tiny_spec, tmp_path):
    """Another model's index files dropped into the home, then that model itself: each
    time the home ends with this model's vectors and an index that matches them."""
    home, library, found = indexed
    config, weights = write_tiny_model(tmp_path / "other-model", seed=1)
    other = ModelSpec(arch=str(config), pretrained=None, weights=weights, device="cpu")
    with Album(tmp_path / "other-home", other) as album:
        album.index([library])
    shutil.rmtree(home / "index")
    shutil.copytree(tmp_path / "other-home" / "index", home / "index")
    with Album(home, tiny_spec) as album:
        assert [str(hit.path) for hit in album.search("a photo", 40)] == found
    with Album(home, other) as album:  # the user switches model: everything is re-embedded
        report = album.index([library])
        assert report.updated == 40 and report.unchanged == 0
        assert album.catalog.get_meta("model") == album.clip().identity
        assert len(album.search("a photo", 40)) == 40
    assert_consistent(home, library).close()
