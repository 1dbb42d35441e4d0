"""The GUI never loads torch or open_clip: the window opens before the model (seconds) loads."""

from __future__ import annotations

import subprocess
import sys

IMPORT_GUI = """
import importlib, pkgutil, sys
import fluffy_desktop.gui as gui
for module in pkgutil.iter_modules(gui.__path__, "fluffy_desktop.gui."):
    importlib.import_module(module.name)
print(" ".join(sorted(m for m in sys.modules if m.startswith("fluffy_desktop.gui."))))
print(" ".join(m for m in ("torch", "open_clip", "torchvision") if m in sys.modules))
"""


def test_importing_every_gui_module_loads_no_torch():
    run = subprocess.run([sys.executable, "-c", IMPORT_GUI], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    gui, heavy = run.stdout.split("\n")[:2]
    assert {"fluffy_desktop.gui.app", "fluffy_desktop.gui.main_window"} <= set(gui.split())
    assert heavy == ""
