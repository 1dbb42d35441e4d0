"""Exit codes of the CLI contract: 2 and one line on stderr for anything a user did wrong
(argparse's usage errors included), 1 and a traceback for a bug."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fluffy_desktop.cli import main
from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.errors import HomeUnwritable
from tests.test_cli import fluffy_process, user_error

USAGE_ERRORS = [
    ["search"],  # a required argument is missing
    ["search", "cat", "-k", "many"],  # not a number
    ["frobnicate"],  # no such command
    ["--bogus", "status"],  # no such option
    ["--device", "tpu", "status"],  # not one of the choices
    ["concepts"],  # a required sub-command is missing
    ["concepts", "rename", "Fluffy"],
    ["learn", "Fluffy", "a.jpg"],  # --kind is required
]


def run_main(capfdbinary, *argv: str) -> subprocess.CompletedProcess:
    """main() in this process, with its exit code and output as a subprocess would give them."""
    capfdbinary.readouterr()
    code = main(list(argv))
    out, err = capfdbinary.readouterr()
    return subprocess.CompletedProcess(argv, code, out, err)


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=" ".join)
def test_a_usage_error_is_one_line_and_exit_2(capfdbinary, argv):
    line = user_error(run_main(capfdbinary, *argv))
    assert "error:" in line and "--help" in line


def test_a_usage_error_in_a_real_process(tiny_env):
    result = fluffy_process(tiny_env, "search", "cat", "-k", "many")
    assert user_error(result).startswith("fluffy search: error: argument -k")
    assert result.stdout == b""


def test_a_user_error_message_is_cut_to_its_first_line(capfdbinary, monkeypatch, tmp_path):
    def unwritable(album):
        raise HomeUnwritable("cannot write the home: free some space\n(details)")

    monkeypatch.setattr(Album, "status", unwritable)
    line = user_error(run_main(capfdbinary, "--home", str(tmp_path / "home"), "status"))
    assert line == "fluffy: error: cannot write the home: free some space"


# The real entry point (`python -m fluffy_desktop`) with the query parser broken by a bug.
FORCED_BUG = """
import runpy, sys
import fluffy_desktop.engine.album as album

def broken(*args):
    raise TypeError("a forced bug in the parser")

album.parse_query = broken
sys.argv = ["fluffy", *sys.argv[1:]]
runpy.run_module("fluffy_desktop", run_name="__main__")
"""


def test_a_bug_exits_1_with_its_traceback(tiny_env):
    result = subprocess.run(
        [sys.executable, "-c", FORCED_BUG, "search", "a cat"],
        env=tiny_env,
        capture_output=True,
        timeout=180,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1, stderr
    assert "Traceback (most recent call last)" in stderr
    assert "TypeError: a forced bug in the parser" in stderr
    assert "fluffy: error" not in stderr  # not dressed up as a user error
