"""Catalog layout versions: older catalogs upgrade with nothing lost, newer ones stay untouched."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from fluffy_desktop.cli import EXIT_USER, main
from fluffy_desktop.engine import catalog as catalog_module
from fluffy_desktop.engine.catalog import SCHEMA_VERSION, Catalog, PhotoUpdate
from fluffy_desktop.engine.errors import CatalogTooNew
from tests.reliability.support import listdir, read_only

FIXTURES = Path(__file__).parent / "fixtures"
CAFE = Path(os.fsdecode(b"/photos/caf\xe9"))


def catalog_v0(folder: Path) -> Path:
    """A catalog written by Fluffy 0.1.0, before layout versions (tests/fixtures)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript((FIXTURES / "catalog_v0.sql").read_text())
    return path


def column_names(path: Path) -> dict[str, list[str]]:
    """Each table's columns."""
    with closing(sqlite3.connect(path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in tables}


def table_rows(path: Path, columns: dict[str, list[str]]) -> dict[str, list]:
    """Every row of these tables (these columns only), read with plain SQL."""
    with closing(sqlite3.connect(path)) as db:
        return {
            table: sorted(db.execute(f"SELECT {', '.join(names)} FROM {table}").fetchall())
            for table, names in columns.items()
        }


def user_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_a_catalog_from_before_versions_upgrades_with_nothing_lost(tmp_path):
    path = catalog_v0(tmp_path)
    old_columns = column_names(path)
    before = table_rows(path, old_columns)
    assert user_version(path) == 0
    with Catalog(path) as catalog:
        assert catalog.read_only is None
        assert catalog.roots() == [CAFE, Path("/photos/home")]
        photos = catalog.photos_for(range(1, 6))
        assert {i: p.status for i, p in photos.items()} == {
            1: "pending",
            2: "pending",
            3: "ok",
            4: "ok",
            5: "failed",
        }
        assert photos[4].path == CAFE / os.fsdecode(b"\xff\xfe.jpg")
        assert photos[5].error == "not an image"
        assert photos[3].taken == "2021-07-14T16:30:00" and photos[3].digest == "digest5"
        assert [r.id for r in catalog.recent(10)] == [3, 4]
        ids, vectors = catalog.all_vectors()
        assert ids.tolist() == [3, 4]
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
        assert catalog.vector_seq() == 3
        assert catalog.get_meta("model") == "ViT-B-32/laion2b_s34b_b79k"
        assert catalog.catalog_id == dict(before["meta"])["catalog_id"]
    assert user_version(path) == SCHEMA_VERSION
    assert table_rows(path, old_columns) == before  # every old row, byte for byte
    with Catalog(path) as catalog:  # and it keeps working: ids are never reused
        _, (new_id,) = catalog.store([PhotoUpdate(Path("/photos/home/new.jpg"), 1, 1.0, None, "n")])
    assert new_id == 7


def test_upgrade_steps_run_once_in_order_and_all_or_nothing(tmp_path, monkeypatch):
    ran: list[str] = []

    def add_rating(db: sqlite3.Connection) -> None:
        ran.append("rating")
        db.execute("ALTER TABLE photos ADD COLUMN rating INTEGER NOT NULL DEFAULT 0")

    def broken(db: sqlite3.Connection) -> None:
        ran.append("broken")
        raise RuntimeError("a step with a bug")

    steps = (*catalog_module.MIGRATIONS, add_rating)
    monkeypatch.setattr(catalog_module, "MIGRATIONS", steps)
    monkeypatch.setattr(catalog_module, "SCHEMA_VERSION", len(steps))
    path = catalog_v0(tmp_path)
    Catalog(path).close()
    Catalog(path).close()
    assert ran == ["rating"] and user_version(path) == len(steps)
    assert "rating" in column_names(path)["photos"]

    path = catalog_v0(tmp_path / "second")  # a failing step leaves the old catalog as it was
    columns = column_names(path)
    before = table_rows(path, columns)
    monkeypatch.setattr(catalog_module, "MIGRATIONS", (*steps, broken))
    monkeypatch.setattr(catalog_module, "SCHEMA_VERSION", len(steps) + 1)
    with pytest.raises(RuntimeError, match="a step with a bug"):
        Catalog(path)
    assert ran == ["rating", "rating", "broken"]
    assert user_version(path) == 0 and column_names(path) == columns
    assert table_rows(path, columns) == before


def newer_catalog(home: Path) -> Path:
    """A catalog with photos, stamped as written by a later Fluffy."""
    with Catalog(home / "catalog.sqlite") as catalog:
        catalog.add_root(Path("/photos"))
        catalog.store([PhotoUpdate(Path("/photos/a.jpg"), 1, 1.0, None, "a", np.ones(4, "f4"))])
    with closing(sqlite3.connect(home / "catalog.sqlite")) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    return home / "catalog.sqlite"


def test_a_catalog_from_a_newer_fluffy_is_refused_and_left_untouched(tmp_path, capsys):
    path = newer_catalog(tmp_path / "home")
    before = listdir(path.parent)
    with pytest.raises(CatalogTooNew, match="newer Fluffy") as refused:
        Catalog(path)
    assert len(str(refused.value).splitlines()) == 1
    assert main(["--home", str(path.parent), "status"]) == EXIT_USER
    error = capsys.readouterr().err.strip()
    assert error.startswith("fluffy: error: the catalog") and "\n" not in error
    assert listdir(path.parent) == before


def test_a_newer_catalog_in_a_read_only_home_is_refused_too(tmp_path):
    path = newer_catalog(tmp_path / "home")
    before = listdir(path.parent)
    with read_only(path.parent), pytest.raises(CatalogTooNew):
        Catalog(path)
    assert listdir(path.parent) == before
