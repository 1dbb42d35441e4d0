#!/usr/bin/env bash
# The wheel as a user gets it: built from the sdist, installed into a fresh venv outside the
# checkout, its `fluffy` run from a temporary folder by the smoke test (version, index,
# search, learn, status, the app).
#   packaging/wheel_check.sh    (needs .venv with the test extra: build, and the dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
VENV="$WORK/venv"

"$PY" -m build --outdir "$WORK/dist" . > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
"$PY" -m venv --without-pip "$VENV"
# The dependencies (torch alone is near 1 GB) come from .venv: its site-packages follows the
# new venv's own on sys.path and its .pth files are not run, so Fluffy comes from the wheel.
site_packages() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site_packages "$PY" > "$(site_packages "$VENV/bin/python")/fluffy-dependencies.pth"
pip=("$PY" -m pip --python "$VENV/bin/python")
"${pip[@]}" install -q --no-deps "$WORK"/dist/*.whl
"${pip[@]}" check  # every dependency the wheel declares is there

cd "$WORK"
"$VENV/bin/python" - "$VENV" <<'PY'
import sys
from pathlib import Path
import fluffy_desktop
from fluffy_desktop.engine.resources import resources_dir
venv = Path(sys.argv[1]).resolve()
for found in (Path(fluffy_desktop.__file__), resources_dir(), resources_dir() / "icons"):
    assert found.resolve().is_relative_to(venv), f"{found} is not from the wheel"
print(f"the wheel's package and resources: {resources_dir()}")
PY
cd - > /dev/null
packaging/smoke_test.sh "$VENV/bin/fluffy"
echo "wheel check passed"
