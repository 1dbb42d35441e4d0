#!/usr/bin/env bash
# Build the Fluffy bundle (dist/fluffy/) with PyInstaller in a build environment of its own.
#   packaging/build.sh                  # a fresh venv in build/venv-packaging (CPU torch advised)
#   PYTHON=.venv/bin/python packaging/build.sh   # or reuse an environment that has Fluffy
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PYTHON:-}" ]]; then
    python3 -m venv build/venv-packaging
    PYTHON=build/venv-packaging/bin/python
    # A CPU-only torch keeps the bundle near 1 GB (a CUDA build adds several GB of libraries).
    "$PYTHON" -m pip install -q ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} torch torchvision
    "$PYTHON" -m pip install -q -e .
fi
"$PYTHON" -m pip install -q 'pyinstaller>=6.10'
"$PYTHON" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/fluffy.spec
echo "built dist/fluffy/fluffy; check it with packaging/smoke_test.sh"
