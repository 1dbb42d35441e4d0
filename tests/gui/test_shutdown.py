"""Closing the window ends the app within 3 s, whatever runs: cancel reaches the work, and work
that ignores it is left behind (the process ends without it)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.fakehub import FakeHub
from tests.photos import make_library

EXIT_LIMIT_S = 3.0  # the target: the app is gone 3 s after its window closes
RUN_TIMEOUT_S = 120  # for everything before the close (start-up on a busy machine)
ROOT = Path(__file__).resolve().parents[2]


def run_closing_app(scenario: str, env: dict[str, str], *args: str) -> tuple[float, bool]:
    """Seconds from the window closing to the process ending, and whether the work stopped
    within the window's limit (see closing_app.py)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.closing_app", scenario, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        closing = _line(process, "closing")
        process.wait(timeout=RUN_TIMEOUT_S)
        ended = time.monotonic()
    finally:
        process.kill()
    stopped = _line(process, "stopped")
    assert process.returncode == 0
    return ended - float(closing), stopped == "True"


def _line(process: subprocess.Popen, key: str) -> str:
    """The value of the next `key value` line the app printed."""
    for line in process.stdout:
        if line.startswith(f"{key} "):
            return line.split(" ", 1)[1].strip()
    raise AssertionError(f"the app ended without printing {key!r}")


def test_closing_during_a_download_stops_it_and_exits(tiny_env):
    env = {k: v for k, v in tiny_env.items() if k != "FLUFFY_WEIGHTS"}
    env.update(FLUFFY_MODEL="ViT-B-32", FLUFFY_PRETRAINED="laion2b_s34b_b79k")
    with FakeHub({"open_clip_model.safetensors": bytes(8 << 20)}, delay_s=0.05) as hub:
        seconds, stopped = run_closing_app("download", {**env, "HF_ENDPOINT": hub.url})
        assert hub.sent < 8 << 20  # the download did not run to its end (6 s at this pace)
    assert stopped and seconds <= EXIT_LIMIT_S
    models = Path(env["FLUFFY_HOME"]) / "models"
    assert not [p for p in models.rglob("*") if p.is_file()]  # nothing half-downloaded kept


def test_closing_during_indexing_stops_it_and_exits(tiny_env, tmp_path):
    folder = tmp_path / "photos"
    make_library(folder, 200)  # seven embedding batches of 32: 3.5 s of (slowed) work
    seconds, stopped = run_closing_app("indexing", tiny_env, str(folder))
    assert stopped and seconds <= EXIT_LIMIT_S


def test_work_that_ignores_cancel_does_not_keep_the_app_alive(tiny_env):
    seconds, stopped = run_closing_app("stuck", tiny_env)
    assert not stopped and seconds <= EXIT_LIMIT_S
