"""Hostile model, inverter and concept files: refused with a clear error, payloads never run.

Each pickle payload, if ever unpickled, creates a marker file; the first test proves the
payloads are live by unpickling one on purpose.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import open_clip
import pytest
import torch
from safetensors.torch import save, save_file

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.concepts.inverter import DeepSet, Inverter
from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.concepts.store import HEADER_KEY, slug
from fluffy_desktop.engine.errors import FluffyError, ModelUnavailable
from tests.photos import make_library
from tests.reliability.support import env_for, error_line, fluffy, listdir
from tests.tinymodel import TINY_CONFIG

pytestmark = pytest.mark.reliability


class Payload:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def pickled(path: Path, marker: Path) -> Path:
    path.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    return path


def torch_saved(path: Path, marker: Path) -> Path:
    torch.save({"visual.proj": torch.zeros(2), "evil": Payload(marker)}, path)
    return path


def huge_header(path: Path) -> Path:
    path.write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    return path


def garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def test_the_payloads_are_live(tmp_path):
    marker = tmp_path / "proof"
    pickle.loads(pickled(tmp_path / "a.bin", marker).read_bytes())
    assert marker.exists()


def spec_for(config: Path, weights: Path) -> ModelSpec:
    return ModelSpec(arch=str(config), pretrained=None, weights=weights, device="cpu")


def other_architecture(path: Path) -> Path:
    """Weights of a real open_clip model of another shape (the tiny CLIP, 48-d output)."""
    config = path.with_name("fluffy-wide.json")
    config.write_text(json.dumps({**TINY_CONFIG, "embed_dim": 48}))
    open_clip.add_model_config(config)
    model = open_clip.create_model("fluffy-wide", pretrained=None)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path


def sized(path: Path, size: int) -> Path:
    path.write_bytes(b"0" * size)
    return path


MODEL_FILES = {
    "pickle payload (.pt)": lambda p, m: torch_saved(p / "evil.pt", m),
    "pickle payload (.bin)": lambda p, m: pickled(p / "evil.bin", m),
    "pickle payload named .safetensors": lambda p, m: pickled(p / "evil.safetensors", m),
    "garbage .safetensors": lambda p, m: garbage(p / "noise.safetensors"),
    "huge header .safetensors": lambda p, m: huge_header(p / "huge.safetensors"),
    "other architecture": lambda p, m: other_architecture(p / "wide.safetensors"),
    "empty file": lambda p, m: sized(p / "empty.pt", 0),
}


@pytest.mark.parametrize("make", MODEL_FILES.values(), ids=MODEL_FILES.keys())
def test_hostile_model_files_are_refused(tiny_model_files, tmp_path, make):
    marker = tmp_path / "payload-ran"
    weights = make(tmp_path, marker)
    with pytest.raises(ModelUnavailable) as refused:
        ClipModel.load(spec_for(tiny_model_files[0], weights), tmp_path / "cache")
    assert "\n" not in str(refused.value) and str(weights) in str(refused.value)
    assert not marker.exists()


def test_a_pickle_model_through_the_cli(tiny_env, tmp_path):
    marker = tmp_path / "payload-ran"
    weights = torch_saved(tmp_path / "evil.pt", marker)
    env = {**tiny_env, "FLUFFY_WEIGHTS": str(weights)}
    assert "cannot read weights file" in error_line(fluffy(env, "search", "a cat"))
    assert not marker.exists()


# --- concept files -------------------------------------------------------------------------
@pytest.fixture
def album(tiny_spec, tmp_path):
    """An album with one real concept, Rex, and that concept exported to a file."""
    photos = make_library(tmp_path / "photos", 3)
    with Album(tmp_path / "home", tiny_spec) as album:
        album.learn("Rex", "dog", photos, settings=LearnSettings(steps=1, augmentations=0))
        album.concepts.export("Rex", tmp_path / "rex.safetensors")
        yield album


def exported(album: Album, path: Path, **changes) -> Path:
    """Rex's export with some metadata fields changed (or, with word=..., another word)."""
    concept = album.concepts.get("Rex")
    meta = {**concept.metadata(), "name": "Intruder", **changes}
    word = meta.pop("word", concept.word)
    path.write_bytes(save({"word": word}, metadata={HEADER_KEY: json.dumps(meta)}))
    return path


CONCEPT_FILES = {
    "pickle payload": lambda a, p, m: pickled(p / "evil.safetensors", m),
    "torch zip with payload": lambda a, p, m: torch_saved(p / "evil.safetensors", m),
    "garbage": lambda a, p, m: garbage(p / "noise.safetensors"),
    "huge header": lambda a, p, m: huge_header(p / "huge.safetensors"),
    "too large": lambda a, p, m: sized(p / "big.safetensors", 5 << 20),
    "another model": lambda a, p, m: exported(a, p / "x.safetensors", model="ViT-L-14:abc"),
    "path in the name": lambda a, p, m: exported(a, p / "x.safetensors", name="../../evil"),
    "wrong format tag": lambda a, p, m: exported(a, p / "x.safetensors", format="pickle/1"),
    "no kind": lambda a, p, m: exported(a, p / "x.safetensors", kind=" "),
    "wrong width": lambda a, p, m: exported(a, p / "x.safetensors", word=torch.zeros(7)),
    "not finite": lambda a, p, m: exported(
        a, p / "x.safetensors", word=torch.full((64,), float("nan"))
    ),
    "integer word": lambda a, p, m: exported(
        a, p / "x.safetensors", word=torch.zeros(64, dtype=torch.int32)
    ),
    "name taken": lambda a, p, m: exported(a, p / "x.safetensors", name="rex"),
}


@pytest.mark.parametrize("make", CONCEPT_FILES.values(), ids=CONCEPT_FILES.keys())
def test_hostile_concept_files_are_refused(album, tmp_path, make):
    marker = tmp_path / "payload-ran"
    before = listdir(album.home.concepts_dir)
    with pytest.raises(FluffyError) as refused:
        album.concepts.import_(make(album, tmp_path, marker), album.clip().identity)
    assert "\n" not in str(refused.value)
    assert listdir(album.home.concepts_dir) == before
    assert not marker.exists()


def test_the_real_export_imports(album, tmp_path):
    """The control: the unaltered export (under a new name) is accepted."""
    album.concepts.import_(exported(album, tmp_path / "ok.safetensors"), album.clip().identity)
    assert album.concepts.names() == ["Intruder", "Rex"]


def test_hostile_files_planted_in_the_home(album, tiny_env, tmp_path):
    """Concept and inverter files put straight into the home are skipped or refused."""
    marker = tmp_path / "payload-ran"
    key = slug("Evil")
    concepts = album.home.concepts_dir
    pickled(concepts / f"{key}.safetensors", marker)
    assert album.concepts.names() == ["Rex"]
    with pytest.raises(FluffyError, match="damaged"):
        album.concepts.get("Evil")
    identity = album.clip().identity
    inverters = album.home.inverters_dir
    info = {"in_dim": album.clip().dim, "width": 8, "word_width": album.clip().word_width}
    Inverter(DeepSet(info["in_dim"], 8, info["word_width"]), identity, info).save(inverters)
    for weights in inverters.glob("*.safetensors"):
        pickled(weights, marker)
    with pytest.raises(FluffyError, match="damaged"):
        Inverter.load(inverters, identity)
    env = env_for(tiny_env, album.home.root)
    photos = sorted((tmp_path / "photos").rglob("*.jpg"))
    assert "damaged" in error_line(fluffy(env, "learn", "Fluffy", "--kind", "cat", *photos))
    assert not marker.exists()
