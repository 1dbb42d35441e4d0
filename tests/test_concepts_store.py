"""The concept store: file pairs, names, rename/remove, one-file export, and refused imports."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as save_tensors

from fluffy_desktop.engine.concepts.store import (
    HEADER_KEY,
    BadConcept,
    Concept,
    ConceptExists,
    ConceptStore,
)
from fluffy_desktop.engine.errors import ConceptMismatch, UnknownConcept
from fluffy_desktop.engine.query import parse_query, query_vector
from fluffy_desktop.engine.tagging import HeldAlbum

MODEL = "fluffy-tiny:0123456789abcdef"


def make_concept(name: str = "Fluffy", width: int = 64, model: str = MODEL) -> Concept:
    gen = torch.Generator().manual_seed(len(name))
    return Concept(
        name=name,
        kind="cat",
        word=torch.randn(width, generator=gen) * 0.02,
        model=model,
        photos=[{"path": "/photos/fluffy1.jpg", "digest": "ab12"}],
        negatives=[],
        created="2025-01-02T03:04:05+00:00",
        settings={"steps": 30, "seed": 0},
    )


@pytest.fixture
def store(tmp_path) -> ConceptStore:
    return ConceptStore(tmp_path / "concepts")


def snapshot(store: ConceptStore) -> dict[str, bytes]:
    folder = store.directory
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_save_writes_one_file_and_get_ignores_case(store):
    store.save(make_concept())
    files = sorted(p.suffix for p in store.directory.iterdir())
    assert files == [".safetensors"]
    got = store.get("FLUFFY")
    assert got.name == "Fluffy" and got.kind == "cat" and got.model == MODEL
    assert torch.equal(got.word, make_concept().word)
    assert store.names() == ["Fluffy"]
    assert store.list()[0].to_info() == {
        "name": "Fluffy",
        "kind": "cat",
        "photos": 1,
        "created": "2025-01-02T03:04:05+00:00",
    }


def test_an_unknown_name_lists_the_known_ones(store):
    store.save(make_concept("Fluffy"))
    store.save(make_concept("Rex"))
    with pytest.raises(UnknownConcept, match="Fluffy, Rex"):
        store.get("Garfield")


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "Fluffy*", "../etc", "a/b", "---", "ab\x00"])
def test_invalid_names_are_refused_and_nothing_is_written(store, name):
    with pytest.raises(BadConcept):
        store.save(make_concept(name))
    assert snapshot(store) == {}


def test_names_may_hold_letters_digits_spaces_and_marks(store):
    for name in ("Zoë's red-hat_2", "Мурка", "Mr  Whiskers"):
        store.save(make_concept(name))
    assert store.names() == ["Mr Whiskers", "Zoë's red-hat_2", "Мурка"]


def test_rename_and_remove(store):
    store.save(make_concept("Fluffy"))
    store.save(make_concept("Rex"))
    word = store.get("Fluffy").word
    store.rename("fluffy", "Mister Fluffy")
    assert store.names() == ["Mister Fluffy", "Rex"]
    assert torch.equal(store.get("mister fluffy").word, word)
    store.rename("Mister Fluffy", "MISTER FLUFFY")
    assert store.names() == ["MISTER FLUFFY", "Rex"]
    before = snapshot(store)
    with pytest.raises(ConceptExists):
        store.rename("Rex", "mister fluffy")
    assert snapshot(store) == before
    store.remove("rex")
    assert store.names() == ["MISTER FLUFFY"] and len(snapshot(store)) == 1
    with pytest.raises(UnknownConcept):
        store.remove("Rex")


def test_export_is_one_safetensors_file_carrying_the_metadata(store, tmp_path):
    store.save(make_concept())
    exported = tmp_path / "fluffy.safetensors"
    store.export("Fluffy", exported)
    with safe_open(str(exported), framework="pt") as handle:
        meta = json.loads(handle.metadata()[HEADER_KEY])
        assert list(handle.keys()) == ["word"]
    assert meta["name"] == "Fluffy" and meta["model"] == MODEL and meta["kind"] == "cat"


def test_a_held_album_is_saved_with_the_concept_but_never_exported(store, tmp_path):
    concept = make_concept()
    concept.held = HeldAlbum(frozenset({3, 17, 40}), upto=52, stay=0.41, join=0.55)
    store.save(concept)
    assert store.get("Fluffy").held == concept.held
    store.export("Fluffy", tmp_path / "f.safetensors")  # its photo ids are this library's
    with safe_open(str(tmp_path / "f.safetensors"), framework="pt") as handle:
        assert list(handle.keys()) == ["word"]
    store.remove("Fluffy")
    assert store.import_(tmp_path / "f.safetensors", MODEL).held is None


def test_export_remove_import_gives_the_same_word_and_search_vector(tiny_clip, tmp_path):
    store = ConceptStore(tmp_path / "concepts")
    store.save(make_concept(model=tiny_clip.identity))
    parsed = parse_query("Fluffy on the sofa", {"Fluffy": "cat"})
    before = query_vector(tiny_clip, parsed, {"Fluffy": store.get("Fluffy").word})
    original = store.get("Fluffy")
    store.export("Fluffy", tmp_path / "fluffy.safetensors")
    store.remove("Fluffy")
    imported = store.import_(tmp_path / "fluffy.safetensors", tiny_clip.identity)
    assert torch.equal(imported.word, original.word)
    assert imported.metadata() == original.metadata()
    after = query_vector(tiny_clip, parsed, {"Fluffy": store.get("Fluffy").word})
    np.testing.assert_array_equal(before, after)


def test_import_refuses_a_taken_name_unless_renamed(store, tmp_path):
    store.save(make_concept())
    store.export("Fluffy", tmp_path / "f.safetensors")
    before = snapshot(store)
    with pytest.raises(ConceptExists, match="already exists"):
        store.import_(tmp_path / "f.safetensors", MODEL)
    assert snapshot(store) == before
    assert store.import_(tmp_path / "f.safetensors", MODEL, name="Fluffy two").name == "Fluffy two"
    assert store.names() == ["Fluffy", "Fluffy two"]


def test_import_refuses_a_concept_of_another_model(store, tmp_path):
    ConceptStore(tmp_path / "other").save(make_concept(model="ViT-B-32:ffffffffffffffff"))
    ConceptStore(tmp_path / "other").export("Fluffy", tmp_path / "f.safetensors")
    with pytest.raises(ConceptMismatch, match=r"learned with model ViT-B-32.*learn it again"):
        store.import_(tmp_path / "f.safetensors", MODEL)
    assert snapshot(store) == {}


def _packed(meta: dict, word: torch.Tensor) -> bytes:
    return save_tensors({"word": word}, metadata={HEADER_KEY: json.dumps(meta)})


def _hostile_files(tmp_path) -> dict[str, bytes]:
    """Files an attacker (or a broken disk) could hand to import, all of them refusable."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (marker.touch, ())

    good = make_concept()
    meta, word = good.metadata(), good.word
    exported = _packed(meta, word)
    return {
        "pickle": pickle.dumps({"word": Payload()}),
        "torch_save": _torch_save_bytes(tmp_path, {"word": Payload()}),
        "truncated": exported[: len(exported) - 40],
        "empty": b"",
        "huge_header_claim": (2**60).to_bytes(8, "little") + b"{}",
        "other_model_in_json": _packed({**meta, "model": "RN50:0000"}, word),
        "no_metadata": save_tensors({"word": word}),
        "nan_word": _packed(meta, torch.full_like(word, float("nan"))),
        "width_mismatch": _packed({**meta, "word_width": 512}, word),
        "double_word": _packed(meta, word.double()),
        "bad_name": _packed({**meta, "name": "../../evil"}, word),
        "bad_photos": _packed({**meta, "photos": [{"path": 3}]}, word),
        "not_json": save_tensors({"word": word}, metadata={HEADER_KEY: "{oops"}),
        "held_without_ids": _packed({**meta, "held": {"upto": 3, "stay": 0.4, "join": 0.6}}, word),
        "held_float_ids": save_tensors(
            {"word": word, "held": torch.zeros(2)},
            metadata={
                HEADER_KEY: json.dumps({**meta, "held": {"upto": 3, "stay": 0.4, "join": 0.6}})
            },
        ),
        "held_bad_cut": save_tensors(
            {"word": word, "held": torch.zeros(2, dtype=torch.int64)},
            metadata={
                HEADER_KEY: json.dumps({**meta, "held": {"upto": 3, "stay": 4, "join": 0.6}})
            },
        ),
    }


def _torch_save_bytes(tmp_path, obj) -> bytes:
    path = tmp_path / "payload.pt"
    torch.save(obj, path)
    return path.read_bytes()


@pytest.mark.reliability
def test_hostile_imports_are_refused_without_running_anything(store, tmp_path):
    store.save(make_concept("Rex"))
    before = snapshot(store)
    for label, data in _hostile_files(tmp_path).items():
        file = tmp_path / f"{label}.safetensors"
        file.write_bytes(data)
        with pytest.raises(ConceptMismatch):
            store.import_(file, MODEL, name="Imported")
        assert snapshot(store) == before, label
    assert not (tmp_path / "pwned").exists()


def test_a_damaged_store_file_is_skipped_by_list_and_refused_by_get(store):
    store.save(make_concept("Fluffy"))
    store.save(make_concept("Rex"))
    next(store.directory.glob("rex-*.safetensors")).write_bytes(b"garbage")
    assert store.names() == ["Fluffy"]
    with pytest.raises(ConceptMismatch, match="damaged"):
        store.get("Rex")


def test_check_model_names_both_models():
    with pytest.raises(ConceptMismatch, match=r"RN50:1.*not ViT-B-32:2"):
        make_concept(model="RN50:1").check_model("ViT-B-32:2")


OTHER = "fluffy-tiny-2:fedcba9876543210"


def test_a_concept_learned_again_with_another_model_keeps_the_first_for_switching_back(store):
    first = make_concept()
    store.save(first)
    store.save(make_concept(width=48, model=OTHER))
    assert store.names() == ["Fluffy"] and store.get("Fluffy").model == OTHER
    kept = store.version(store.get("Fluffy"), MODEL)
    assert kept is not None and torch.equal(kept.word, first.word)
    assert store.version(store.get("Fluffy"), "yet-another-model") is None

    store.rename("Fluffy", "Mister Fluffy")  # the kept copy follows the rename
    kept = store.version(store.get("Mister Fluffy"), MODEL)
    assert kept is not None and kept.name == "Mister Fluffy"
    store.remove("Mister Fluffy")
    assert list(store.directory.rglob("*.safetensors")) == []


def test_a_kept_copy_counts_only_for_the_same_concept_learned_from_the_same_photos(store):
    store.save(make_concept())
    store.save(make_concept(width=48, model=OTHER))
    changed = store.get("Fluffy")
    changed.confirmed = [{"path": "/photos/fluffy2.jpg", "digest": "cd34"}]
    store.save(changed)  # an answer given with the other model: the old copy is out of date
    assert store.version(store.get("Fluffy"), MODEL) is None

    store.save(make_concept())
    store.save(make_concept(width=48, model=OTHER))
    assert store.version(store.get("Fluffy"), MODEL) is not None
    newcomer = make_concept(width=48, model=OTHER)
    newcomer.created = "2026-01-01T00:00:00+00:00"  # learned afresh: another concept
    store.save(newcomer)
    assert store.version(store.get("Fluffy"), MODEL) is None
