"""A full disk and a read-only home: a one-line error (exit 2), and nothing damaged.

Tests run as root, for whom file modes stop nothing, so the faults are real mounts: a small
tmpfs that is filled up, and a read-only bind mount. Where mounting is not allowed the tests
are skipped and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.errors import HomeUnwritable
from tests.photos import make_library
from tests.reliability.support import (
    assert_consistent,
    env_for,
    error_line,
    fill_disk,
    fluffy,
    listdir,
    ok_json,
    read_only,
    small_tmpfs,
)

pytestmark = pytest.mark.reliability


@dataclass
class Faulty:
    """A home with 10 indexed photos and the concept Rex, 5 new photos, and a fault."""

    env: dict
    home: Path
    library: Path
    concepts: dict[str, bytes]
    cause: tuple[str, ...]  # words a clear message would use
    lift: Callable[[], None]  # ends the fault

    def new_photos(self) -> list[Path]:
        return sorted(self.library.rglob("photo-001*.jpg"))


def make_home(home: Path, library: Path, spec) -> dict[str, bytes]:
    """Index 10 photos and learn Rex in home, then add 5 photos; returns the concept files."""
    photos = make_library(library, 10)
    with Album(home, spec) as album:
        album.index([library])
        album.learn("Rex", "dog", photos[:3], settings=LearnSettings(steps=2, augmentations=0))
    make_library(library, 5, start=10)
    return listdir(home / "concepts")


@pytest.fixture
def full_disk(tiny_env, tiny_spec, tmp_path) -> Iterator[Faulty]:
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        concepts = make_home(disk / "home", tmp_path / "photos", tiny_spec)
        filler = fill_disk(disk)
        env = env_for(tiny_env, disk / "home")
        yield Faulty(
            env, disk / "home", tmp_path / "photos", concepts, ("full", "space"), filler.unlink
        )


@pytest.fixture
def read_only_home(tiny_env, tiny_spec, tmp_path) -> Iterator[Faulty]:
    library, home = tmp_path / "photos", tmp_path / "home"
    concepts = make_home(home, library, tiny_spec)
    with ExitStack() as stack:
        stack.enter_context(read_only(home))
        env = env_for(tiny_env, home)
        yield Faulty(env, home, library, concepts, ("read-only", "read only"), stack.close)


@pytest.fixture(params=["full_disk", "read_only_home"])
def faulty(request) -> Faulty:
    return request.getfixturevalue(request.param)


def test_writes_stop_in_one_line_search_goes_on_nothing_is_damaged(faulty, tiny_spec):
    message = error_line(fluffy(faulty.env, "index", faulty.library, "--json")).lower()
    assert any(word in message for word in faulty.cause), message
    assert "move the file aside" not in message
    error_line(fluffy(faulty.env, "learn", "Fluffy", "--kind", "cat", *faulty.new_photos()))
    assert len(ok_json(fluffy(faulty.env, "search", "a photo", "--json"))["results"]) == 10
    faulty.lift()
    assert listdir(faulty.home / "concepts") == faulty.concepts
    assert_consistent(faulty.home).close()
    with Album(faulty.home, tiny_spec) as album:  # and indexing finishes the job
        report = album.index([faulty.library])
        assert (report.added, report.unchanged, report.failed) == (5, 10, [])
        assert album.concepts.names() == ["Rex"]
    assert_consistent(faulty.home, faulty.library).close()


def test_disk_filling_up_while_the_album_is_open(tiny_spec, tmp_path):
    """The disk fills between runs of an open album: writes raise HomeUnwritable naming the
    cause, search goes on, and once there is room the next run completes the library."""
    with small_tmpfs(tmp_path / "disk", "8m") as disk:
        library = tmp_path / "photos"
        shots = make_library(library, 10)
        with Album(disk / "home", tiny_spec) as album:
            album.index([library])
            make_library(library, 20, start=10)
            filler = fill_disk(disk)
            with pytest.raises(HomeUnwritable, match="full"):
                album.index([library])
            with pytest.raises(HomeUnwritable):
                album.learn("Rex", "dog", shots[:3], settings=LearnSettings(steps=1))
            assert len(album.search("a photo", 5)) == 5
            filler.unlink()
            report = album.index([library])
            assert (report.added, report.unchanged, report.failed) == (20, 10, [])
        concepts = disk / "home" / "concepts"
        assert not concepts.exists() or not any(concepts.iterdir())  # no temp file left
        assert_consistent(disk / "home", library).close()
