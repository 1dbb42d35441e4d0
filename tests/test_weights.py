"""Downloading the model from the hub: progress, a cancel that stops it at once, nothing half-kept.

The hub is a local stand-in (tests/fakehub.py): no network is used.
"""

from __future__ import annotations

import sys
import threading

import pytest
from huggingface_hub import constants

from fluffy_desktop.engine.errors import Cancelled, ModelUnavailable
from fluffy_desktop.engine.weights import cached_hub_weights, fetch_hub_weights
from tests.fakehub import CHUNK, FakeHub

ARCH, TAG = "ViT-B-32", "laion2b_s34b_b79k"
SAFETENSORS, BIN = "open_clip_model.safetensors", "open_clip_pytorch_model.bin"
WEIGHTS = bytes(range(256)) * (5 * CHUNK // 256)  # five chunks, recognisable


@pytest.fixture
def hub(monkeypatch):
    """Starts a fake hub over files and points the engine at it."""

    def serve(files: dict[str, bytes], **options) -> FakeHub:
        fake = FakeHub(files, **options).__enter__()
        monkeypatch.setattr(constants, "ENDPOINT", fake.url)
        started.append(fake)
        return fake

    started: list[FakeHub] = []
    yield serve
    for fake in started:
        fake.__exit__()


def _leftovers(models_dir) -> list:
    return [p for p in models_dir.rglob("*") if p.is_file()]


def test_a_download_reports_progress_and_then_needs_no_network(hub, tmp_path):
    fake = hub({BIN: WEIGHTS})  # no safetensors on this hub: the .bin is next in line
    seen: list[tuple[str, int, int]] = []
    path = fetch_hub_weights(ARCH, TAG, tmp_path, lambda *report: seen.append(report))
    assert path.name == BIN and path.read_bytes() == WEIGHTS
    assert seen[0] == ("Downloading model", 0, len(WEIGHTS))
    assert seen[-1] == ("Downloading model", len(WEIGHTS), len(WEIGHTS))
    assert len(seen) > 2  # it moved in steps, not at the end only
    fake.__exit__()
    assert cached_hub_weights(ARCH, TAG, tmp_path) == path
    assert fetch_hub_weights(ARCH, TAG, tmp_path) == path  # found without the hub
    record = tmp_path / "downloads" / "hub-repos.json"
    assert sorted(_leftovers(tmp_path)) == sorted([path, record])


def test_downloaded_weights_are_found_again_without_importing_open_clip(hub, tmp_path, monkeypatch):
    """open_clip's table names a tag's repository, but importing it costs 1.7 s of a start:
    once the weights are on disk, the repository is remembered beside them."""
    hub({SAFETENSORS: WEIGHTS})
    path = fetch_hub_weights(ARCH, TAG, tmp_path)
    monkeypatch.setitem(sys.modules, "open_clip", None)  # any import of it now fails
    assert cached_hub_weights(ARCH, TAG, tmp_path) == path
    with pytest.raises(ImportError):
        cached_hub_weights(ARCH, "another-tag", tmp_path)


def test_cancel_stops_a_download_between_chunks_and_keeps_nothing(hub, tmp_path):
    big = WEIGHTS * 40  # 200 chunks, 10 s at this pace: only a cancel ends it early
    fake = hub({SAFETENSORS: big}, delay_s=0.05)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        seen.append(done)
        if done >= 3 * CHUNK:
            cancel.set()

    with pytest.raises(Cancelled):
        fetch_hub_weights(ARCH, TAG, tmp_path, progress, cancel)
    assert seen[-1] == 3 * CHUNK  # no chunk was taken in after the cancel
    assert fake.sent < len(big) // 4
    assert _leftovers(tmp_path) == []
    assert cached_hub_weights(ARCH, TAG, tmp_path) is None


def test_a_download_that_breaks_off_keeps_nothing(hub, tmp_path):
    hub({SAFETENSORS: WEIGHTS}, cut_after=2 * CHUNK)
    with pytest.raises(ModelUnavailable, match="broke off"):
        fetch_hub_weights(ARCH, TAG, tmp_path)
    assert _leftovers(tmp_path) == []
