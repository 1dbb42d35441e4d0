#!/usr/bin/env bash
# Smoke test of the bundle (or of any installed `fluffy`, see wheel_check.sh): run from a
# temporary folder, the CLI indexes, searches, learns and reports its status on a tiny generated
# model, and the app starts (offscreen) and keeps running without a traceback.
#   packaging/smoke_test.sh [FLUFFY]    (default dist/fluffy/fluffy; needs .venv for the fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=$(realpath "${1:-dist/fluffy/fluffy}")
PY=${PYTHON:-.venv/bin/python}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Fixtures from the test helpers: a tiny CLIP checkpoint and a dozen photos.
"$PY" - "$WORK" <<'PY'
import sys
from pathlib import Path
from tests.photos import make_library
from tests.tinymodel import write_tiny_model
work = Path(sys.argv[1])
config, weights = write_tiny_model(work / "model")
make_library(work / "photos", 12)
(work / "env").write_text(f"FLUFFY_MODEL={config}\nFLUFFY_WEIGHTS={weights}\n")
PY
set -a; source "$WORK/env"; set +a
export FLUFFY_HOME="$WORK/home" FLUFFY_DEVICE=cpu QT_QPA_PLATFORM=offscreen
cd "$WORK"

"$BUNDLE" --version
"$BUNDLE" index "$WORK/photos" --json > "$WORK/index.json"
grep -q '"added": 12' "$WORK/index.json" || { echo "index failed: $(cat "$WORK/index.json")"; exit 1; }
"$BUNDLE" search "a red square" -k 3 --json | grep -q '"score"' || { echo "search failed"; exit 1; }
PHOTOS=$(find "$WORK/photos" -name '*.jpg' | sort | head -3)
"$BUNDLE" learn Fluffy --kind cat $PHOTOS --json | grep -q '"name": "Fluffy"' \
    || { echo "learn failed"; exit 1; }
"$BUNDLE" status --json > "$WORK/status.json"
grep -q '"photos": 12' "$WORK/status.json" || { echo "status failed: $(cat "$WORK/status.json")"; exit 1; }
grep -q "\"log\": \"$FLUFFY_HOME/logs/fluffy.log\"" "$WORK/status.json" \
    || { echo "status does not name the log: $(cat "$WORK/status.json")"; exit 1; }
grep -q ': learn$' "$FLUFFY_HOME/logs/fluffy.log" || { echo "the log has no line for learn"; exit 1; }

# The app: still running after 15 s (timeout's exit code 124) and no traceback.
set +e
timeout 15 "$BUNDLE" gui 2> "$WORK/gui.log"
status=$?
set -e
if [[ $status -ne 124 ]] || grep -q Traceback "$WORK/gui.log"; then
    echo "the app did not keep running (exit $status):"; cat "$WORK/gui.log"; exit 1
fi
echo "bundle smoke test passed"
