"""The CUDA path: what a user with an NVIDIA GPU runs gives what the CPU gives.

Skipped where torch sees no CUDA GPU (CI has none). On a machine with one: `pytest -m cuda`.
Everything runs on the world model, through the CLI and `Album`, as the app runs it.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch

from fluffy_desktop.cli import main
from fluffy_desktop.engine.evaluate.world.model import shipped_model

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]
CAT = 0  # the set's first individual is a cat (tests/test_tagging.py)
QUERY = "Fluffy on the beach"


def fluffy_json(home: Path, device: str, *args: str) -> dict:
    """`fluffy --json` on the world model with this device, in this process; its document."""
    config, weights = shipped_model()
    model = ["--model", str(config), "--weights", str(weights), "--device", device]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--home", str(home), *model, *args, "--json"])
    assert code == 0
    return json.loads(out.getvalue())


def world_doc(tmp_path: Path, device: str, *extra: str) -> dict:
    home = tmp_path / f"home-{device}"
    return fluffy_json(home, device, "eval", "world", *extra)


def test_the_world_eval_on_the_gpu_matches_the_cpu(tmp_path):
    """Same seed, same photos: the methods that learn nothing agree within a point, those that
    learn (palavra, albums) within the spread of a few steps' rounding."""
    gpu, cpu = world_doc(tmp_path, "cuda"), world_doc(tmp_path, "cpu")
    for method in ("text", "avgim", "avgim_text"):
        assert gpu["methods"][method]["mrr"] == pytest.approx(cpu["methods"][method]["mrr"], abs=1)
    assert gpu["methods"]["palavra"]["mrr"] == pytest.approx(
        cpu["methods"]["palavra"]["mrr"], abs=4
    )
    assert gpu["identity_precision"]["palavra"] == pytest.approx(
        cpu["identity_precision"]["palavra"], abs=6
    )
    assert gpu["methods"]["palavra"]["mrr"] >= 85
    print("gpu", json.dumps(gpu), "cpu", json.dumps(cpu), sep="\n")


def test_the_ceiling_runs_on_the_gpu(tmp_path):
    doc = world_doc(tmp_path, "cuda", "--ceiling")
    assert doc["methods"]["fitted_word"]["identity"] >= 70


def test_a_home_built_on_the_gpu_answers_the_same_on_the_cpu(world_gpu_home):
    """Index, learn, review and f_θ on the GPU; the home's files then serve a CPU user."""
    setup, home = world_gpu_home
    gpu_hits = fluffy_json(home, "cuda", "search", QUERY, "-k", "10")["results"]
    asked = fluffy_json(home, "cuda", "review", "Fluffy", "-n", "2")["photos"]
    confirmed = fluffy_json(home, "cuda", "confirm", "Fluffy", asked[0]["path"])
    rejected = fluffy_json(home, "cuda", "reject", "Fluffy", asked[1]["path"])
    assert (confirmed["confirmed"], rejected["rejected"]) == (1, 1)
    mask = home.parent / "mask.png"
    where = fluffy_json(
        home, "cuda", "locate", "Fluffy", str(setup.shots[CAT][0]), "--mask", str(mask)
    )
    assert mask.is_file() and where
    trained = fluffy_json(home, "cuda", "eval", "world", "inverter", "--steps", "50")
    assert trained["steps"] == 50 and trained["steps_per_s"] > 0
    relearned = fluffy_json(home, "cuda", "learn", "Fluffy", "--kind", "cat", *shots(setup))
    assert relearned["photos"] == 5

    cpu_hits = fluffy_json(home, "cpu", "search", QUERY, "-k", "10")["results"]
    album = fluffy_json(home, "cpu", "concepts", "photos", "Fluffy")
    states = {photo["path"]: photo["state"] for photo in album["photos"]}
    assert states[asked[0]["path"]] == "confirmed" and asked[1]["path"] not in states
    assert gpu_hits[0]["path"] == cpu_hits[0]["path"]
    assert len({h["path"] for h in gpu_hits} & {h["path"] for h in cpu_hits}) >= 7


def shots(setup) -> list[str]:
    return [str(path) for path in setup.shots[CAT]]


@pytest.fixture
def world_gpu_home(tmp_path):
    """The seed-0 world gallery indexed on the GPU, its cat learned there as "Fluffy"."""
    from fluffy_desktop.engine.evaluate.world.run import prepare, world_spec

    setup = prepare(tmp_path, 0, world_spec("cuda"), None, lambda *_: None)
    assert setup.album.clip().device.type == "cuda"
    setup.album.learn("Fluffy", "cat", setup.shots[CAT])
    setup.album.close()
    return setup, tmp_path / "home"
