"""Shared fixtures: a tiny generated CLIP checkpoint and homes that use it."""

from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import pytest

from fluffy_desktop.cli import main
from tests.tinymodel import OTHER_CONFIG, TINY_CONFIG, write_tiny_model

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def tiny_model_files(tmp_path_factory) -> tuple[Path, Path]:
    """(config json, safetensors weights) of the tiny model, made once per session."""
    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_spec(tiny_model_files):
    from fluffy_desktop.engine.clip import ModelSpec

    config, weights = tiny_model_files
    return ModelSpec(arch=str(config), pretrained=None, weights=weights, device="cpu")


@pytest.fixture(scope="session")
def other_tiny_spec(tmp_path_factory):
    """A second tiny model (other config, other seed): what a switch of models brings."""
    from fluffy_desktop.engine.clip import ModelSpec

    folder = tmp_path_factory.mktemp("other-tiny-model")
    config, weights = write_tiny_model(folder, seed=1, config=OTHER_CONFIG, name="fluffy-tiny-2")
    return ModelSpec(arch=str(config), pretrained=None, weights=weights, device="cpu")


@pytest.fixture(scope="session")
def layer_scale_spec(tmp_path_factory):
    """A tiny model whose image blocks have layer scale: a tower ImageTower does not compute."""
    from fluffy_desktop.engine.clip import ModelSpec

    config = copy.deepcopy(TINY_CONFIG)
    config["vision_cfg"]["ls_init_value"] = 0.5
    folder = tmp_path_factory.mktemp("layer-scale-model")
    config_file, weights = write_tiny_model(folder, seed=2, config=config, name="fluffy-tiny-ls")
    return ModelSpec(arch=str(config_file), pretrained=None, weights=weights, device="cpu")


@pytest.fixture(scope="session")
def tiny_clip(tiny_spec, tmp_path_factory):
    from fluffy_desktop.engine.clip import ClipModel

    return ClipModel.load(tiny_spec, tmp_path_factory.mktemp("model-cache"))


@pytest.fixture
def tiny_env(tiny_model_files, tmp_path, monkeypatch) -> dict[str, str]:
    """Environment for running the `fluffy` CLI on the tiny model with a fresh home."""
    config, weights = tiny_model_files
    env = dict(os.environ)
    env.update(
        FLUFFY_HOME=str(tmp_path / "home"),
        FLUFFY_MODEL=str(config),
        FLUFFY_WEIGHTS=str(weights),
        FLUFFY_DEVICE="cpu",
    )
    return env


@pytest.fixture(scope="session")
def world_home(tmp_path_factory):
    """The seed-0 world gallery indexed with the shipped world model in a home of its own, and
    the cat of the set learned as "Fluffy" from its five shots: (setup, home path)."""
    from fluffy_desktop.engine.evaluate.world.run import prepare, world_spec

    folder = tmp_path_factory.mktemp("world")
    setup = prepare(folder, 0, world_spec("cpu"), None, lambda *_: None)
    setup.album.learn("Fluffy", "cat", setup.shots[0])
    setup.album.close()
    return setup, folder / "home"


@pytest.fixture
def fluffy(monkeypatch, capfdbinary):
    """`fluffy` run in this process (fast: no interpreter start), same exit code and output."""

    def run(env: dict, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
        for key in [k for k in os.environ if k.startswith("FLUFFY_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith("FLUFFY_"):
                monkeypatch.setenv(key, value)
        capfdbinary.readouterr()
        code = main([str(arg) for arg in args])
        out, err = capfdbinary.readouterr()
        result = subprocess.CompletedProcess(args, code, out, err)
        if check and code != 0:
            raise AssertionError(f"exit {code}: {err.decode(errors='replace')}")
        return result

    return run
