"""The log: a rotating file in the home directory, named by `fluffy status`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from fluffy_desktop import __version__
from fluffy_desktop.cli import main
from fluffy_desktop.engine import logs
from fluffy_desktop.engine.home import Home
from fluffy_desktop.engine.logs import log_to
from tests.reliability.support import read_only

ours = logging.getLogger("fluffy_desktop.engine.ingest")
theirs = logging.getLogger("huggingface_hub")


def test_the_log_keeps_fluffys_records_and_every_librarys_warnings(tmp_path, capsys):
    home = Home(tmp_path / "home")
    with log_to(home) as log_file:
        ours.info("indexed 12 photos")
        theirs.info("chatter")
        theirs.warning("the hub is slow")
    ours.warning("after the block")
    assert log_file == home.log_file
    text = log_file.read_text()
    assert "INFO fluffy_desktop.engine.ingest [MainThread] indexed 12 photos" in text
    assert "WARNING huggingface_hub [MainThread] the hub is slow" in text
    assert "chatter" not in text and "after the block" not in text
    assert capsys.readouterr().err == "the hub is slow\n"  # warnings reach stderr, as before


def test_the_log_rotates_and_stays_small(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2_000)
    home = Home(tmp_path / "home")
    with log_to(home):
        for line in range(200):
            ours.info("line %d %s", line, "x" * 50)
    files = sorted(home.log_file.parent.iterdir())
    assert [f.name for f in files] == ["fluffy.log", "fluffy.log.1", "fluffy.log.2"]
    assert all(f.stat().st_size <= 2_000 for f in files)
    assert "line 199 " in home.log_file.read_text()


def test_a_read_only_home_logs_to_stderr_only(tmp_path, capsys):
    home = Home(tmp_path / "home").ensure()
    with read_only(home.root), log_to(home) as log_file:
        ours.error("something failed")
    assert log_file is None and not home.log_file.parent.exists()
    assert capsys.readouterr().err == "something failed\n"


def test_status_names_the_log_that_the_command_wrote(tmp_path, capsys):
    home = tmp_path / "home"
    assert main(["--home", str(home), "status", "--json"]) == 0
    log_file = Path(json.loads(capsys.readouterr().out)["log"])
    assert log_file == Home(home).log_file
    assert f"fluffy {__version__}: status" in log_file.read_text()
    assert main(["--home", str(home), "status"]) == 0
    assert f"log       {log_file}\n" in capsys.readouterr().out
