"""Shared tools of the reliability suite: the CLI in a subprocess, kills, mounts, and a check
that a home's catalog, index files and photo folders agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np
import pytest

from fluffy_desktop.engine.catalog import Catalog

CLI = [sys.executable, "-m", "fluffy_desktop"]


def fluffy(env: dict, *args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the CLI to the end; the result is returned whatever the exit code."""
    return subprocess.run(
        [*CLI, *map(str, args)], env=env, capture_output=True, timeout=timeout, check=False
    )


def ok_json(result: subprocess.CompletedProcess):
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"exit {result.returncode}: {stderr}"
    return json.loads(result.stdout)


def error_line(result: subprocess.CompletedProcess) -> str:
    """Exit 2 with one `fluffy: error:` line (progress bars aside) and no traceback."""
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 2, f"exit {result.returncode}: {stderr}"
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if "error:" in line]
    assert len(errors) == 1, stderr
    return errors[0]


# The CLI (its real entry point) with one function made to stop at its nth call, before or
# after the call: it touches the marker file and sleeps until killed. Arguments: owner,
# function, nth, "before"/"after", the substring that a counted call's path arguments must
# contain ("" counts every call), the marker, then the CLI's own arguments.
PAUSED_CLI = """
import importlib, runpy, sys, time
from pathlib import Path

owner, name, nth, when, match, marker = sys.argv[1:7]
module, _, cls = owner.partition(":")
target = getattr(importlib.import_module(module), cls) if cls else importlib.import_module(module)
real, calls = getattr(target, name), []

def stop():
    Path(marker).touch()
    time.sleep(600)

def pause(*args, **kwargs):
    if match and not any(match in str(a) for a in args if isinstance(a, (str, Path))):
        return real(*args, **kwargs)
    calls.append(1)
    if len(calls) == int(nth) and when == "before":
        stop()
    result = real(*args, **kwargs)
    if len(calls) == int(nth):
        stop()
    return result

setattr(target, name, pause)
sys.argv = ["fluffy", *sys.argv[7:]]
runpy.run_module("fluffy_desktop", run_name="__main__")
"""


@dataclass(frozen=True)
class Pause:
    """Where a CLI run stops to be killed: before (or after) the nth call of owner.name
    ("module:Class" or "module"), counting only calls with a path argument containing
    `match` when given."""

    owner: str
    name: str
    nth: int = 1
    when: str = "before"
    match: str = ""


def kill_at(env: dict, pause: Pause, args: Sequence[str | Path], marker: Path) -> None:
    """Run the CLI until it reaches the pause, then SIGKILL it there (it must get there)."""
    log = marker.with_name(f"{marker.name}.log")
    where = [pause.owner, pause.name, str(pause.nth), pause.when, pause.match, str(marker)]
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", PAUSED_CLI, *where, *map(str, args)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.monotonic() + 180
    try:
        while not marker.exists():
            ended = process.poll() is not None
            assert not ended, f"exit {process.returncode} before {pause}: {log.read_text()}"
            assert time.monotonic() < deadline, f"never reached {pause}"
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    marker.unlink()


def image_files(root: Path) -> set[Path]:
    return {p.resolve() for p in Path(root).rglob("*.jpg") if p.is_file()}


def saved_index_ids(home: Path, dim: int) -> set[int]:
    """The live labels of the index files as saved (deleted ones excluded), read directly."""
    meta = json.loads((home / "index" / "index.json").read_text())
    index = hnswlib.Index(space="cosine", dim=dim)
    index.load_index(str(home / "index" / "index.bin"))
    labels = set(index.get_ids_list())
    assert meta["count"] == len(labels) - len(meta["deleted"])
    return labels - set(meta["deleted"])


def assert_consistent(home: Path, library: Path | None = None) -> Catalog:
    """Catalog and saved index hold the same photos, once each; with a library, exactly its
    photos, all embedded. Returns the (open) catalog."""
    catalog = Catalog(home / "catalog.sqlite")
    every = catalog.photos_under([Path(os.sep)])
    ok = {r.id: r.path for r in every if r.status == "ok"}
    vector_ids = catalog.vector_ids()
    assert len(set(vector_ids.tolist())) == len(vector_ids)
    assert set(vector_ids.tolist()) == set(ok)
    ids, vectors = catalog.all_vectors()
    assert saved_index_ids(home, vectors.shape[1]) == set(ids.tolist())
    assert np.isfinite(vectors).all()
    if library is not None:
        assert len(set(ok.values())) == len(ok)
        assert set(ok.values()) == image_files(library)
        assert catalog.count() == len(ok)
    return catalog


def mount_or_skip(target: Path, *options: str) -> None:
    """mount(8) with these options, or skip the test saying why it cannot run here."""
    target.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", *options, str(target)], capture_output=True, check=False)
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip()
        pytest.skip(f"cannot mount here (needs root / CAP_SYS_ADMIN): {reason}")


@contextmanager
def small_tmpfs(target: Path, size: str):
    """A tmpfs of the given size at target (skips the test where mounting is not allowed)."""
    mount_or_skip(target, "-t", "tmpfs", "-o", f"size={size}", "tmpfs")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


@contextmanager
def read_only(folder: Path):
    """Folder bind-mounted read-only onto itself (root ignores file modes, not mounts)."""
    mount_or_skip(folder, "--bind", str(folder))
    try:
        remount = ["mount", "-o", "remount,ro,bind", str(folder)]
        if subprocess.run(remount, capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot remount a bind mount read-only here")
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill_disk(folder: Path) -> Path:
    """Write a filler file until the file system is full; returns it (delete it to free)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def env_for(env: dict, home: Path) -> dict:
    return {**env, "FLUFFY_HOME": str(home)}


def listdir(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}
