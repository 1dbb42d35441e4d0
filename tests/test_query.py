"""Query parsing (concept names, negatives, photo paths) and query vectors with injected words."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fluffy_desktop.engine.clip import PLACEHOLDER
from fluffy_desktop.engine.concepts.names import is_ordinary_word
from fluffy_desktop.engine.errors import BadQuery, UnknownConcept
from fluffy_desktop.engine.query import NEGATIVE_WEIGHT, PHOTO_WEIGHT, parse_query, query_vector

KINDS = {
    "Fluffy": "cat",
    "Rex": "dog",
    "Mr Whiskers": "cat",
    "Whiskers": "hamster",
    "Zoë": "girl",
    "Мурка": "cat",
}

# Every way a user may write a concept name: (as typed, the concept, what the prompt gets).
NAME_FORMS = [
    ("Fluffy", "Fluffy", "cat *"),
    ("fluffy", "Fluffy", "cat *"),
    ("[Fluffy]", "Fluffy", "cat *"),
    ("@Fluffy", "Fluffy", "cat *"),
    ("Fluffy's", "Fluffy", "cat * 's"),
    ("Fluffy’s", "Fluffy", "cat * 's"),
    ("Mr Whiskers", "Mr Whiskers", "cat *"),
    ("mr  WHISKERS", "Mr Whiskers", "cat *"),
    ("[Mr Whiskers]", "Mr Whiskers", "cat *"),
    ("@Mr Whiskers", "Mr Whiskers", "cat *"),
    ("Mr Whiskers's", "Mr Whiskers", "cat * 's"),
    ("Mr Whiskers’s", "Mr Whiskers", "cat * 's"),
    ("Whiskers", "Whiskers", "hamster *"),
    ("Zoë", "Zoë", "girl *"),
    ("[ZOË]", "Zoë", "girl *"),
    ("@Zoë", "Zoë", "girl *"),
    ("Zoë’s", "Zoë", "girl * 's"),
    ("Мурка", "Мурка", "cat *"),
    ("[мурка]", "Мурка", "cat *"),
    ("@Мурка", "Мурка", "cat *"),
    ("Мурка's", "Мурка", "cat * 's"),
]


def test_a_concept_name_becomes_its_kind_and_a_placeholder():
    parsed = parse_query("Fluffy asleep on the sofa", KINDS)
    assert parsed.prompt == f"cat {PLACEHOLDER} asleep on the sofa"
    assert parsed.concepts == ("Fluffy",)
    assert parsed.negatives == () and parsed.image is None


def test_names_match_in_every_form_and_only_as_whole_words():
    parsed = parse_query("fluffy's bowl, @Rex and [FLUFFY] near the fluffyness", KINDS)
    assert parsed.concepts == ("Fluffy", "Rex", "Fluffy")
    assert parsed.prompt == "cat * 's bowl, dog * and cat * near the fluffyness"


def test_multi_word_names_win_over_their_parts():
    parsed = parse_query("Mr  Whiskers and Whiskers", KINDS)
    assert parsed.concepts == ("Mr Whiskers", "Whiskers")
    assert parsed.prompt == "cat * and hamster *"


@pytest.mark.parametrize(("typed", "name", "slot"), NAME_FORMS)
def test_every_name_form_is_understood_in_the_positive_text(typed, name, slot):
    parsed = parse_query(f"{typed} asleep on the sofa", KINDS)
    assert (parsed.prompt, parsed.concepts) == (f"{slot} asleep on the sofa", (name,))
    assert parsed.negatives == parsed.negative_concepts == ()


@pytest.mark.parametrize(("typed", "name", "slot"), NAME_FORMS)
@pytest.mark.parametrize("template", ["sofa -{}", "-{} sofa", "sofa -{} -blanket"])
def test_every_name_form_is_understood_as_a_whole_negative(template, typed, name, slot):
    parsed = parse_query(template.format(typed), KINDS)
    assert (parsed.prompt, parsed.concepts) == ("sofa", ())
    assert parsed.negatives[0] == slot and parsed.negative_concepts == (name,)
    assert parsed.negatives[1:] == (("blanket",) if "blanket" in template else ())


def test_a_longer_word_after_a_dash_is_not_a_name():
    parsed = parse_query("sofa -Fluffyness -Mr Whiskersy", KINDS)
    assert parsed.negatives == ("Fluffyness", "Mr") and parsed.negative_concepts == ()
    assert (parsed.prompt, parsed.concepts) == ("sofa Whiskersy", ())


@pytest.mark.parametrize("text", ['-"red car beach', '"red car beach', 'sofa -"', 'a 5" screen'])
def test_an_unclosed_quote_is_a_one_line_bad_query(text):
    with pytest.raises(BadQuery, match="unclosed quote") as caught:
        parse_query(text, KINDS)
    assert "\n" not in str(caught.value)


def test_user_text_cannot_smuggle_a_placeholder():
    parsed = parse_query(f'a {PLACEHOLDER} star "on the sofa"', KINDS)
    assert parsed.prompt == "a star on the sofa" and parsed.concepts == ()


def test_negative_terms_are_split_off():
    parsed = parse_query('t-shirt on the beach -sunset -"red car" -Fluffy', KINDS)
    assert parsed.prompt == "t-shirt on the beach"
    assert parsed.negatives == ("sunset", "red car", "cat *")
    assert parsed.negative_concepts == ("Fluffy",) and parsed.concepts == ()
    assert parse_query("Rex and Fluffy -Fluffy -Rex", KINDS).names == ("Rex", "Fluffy")


@pytest.mark.parametrize("text", ["", "   ", "-sunset", '-"red car"', PLACEHOLDER])
def test_a_query_that_asks_for_nothing_is_a_bad_query(text):
    with pytest.raises(BadQuery, match="asks for nothing"):
        parse_query(text, KINDS)


def test_an_existing_photo_path_is_an_image_query(tmp_path):
    photo = tmp_path / "my cat.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    assert parse_query(f"  {photo} ", KINDS).image == photo
    assert parse_query("cat.jpg", KINDS).prompt == "cat.jpg"  # no folder: just words
    with pytest.raises(BadQuery, match="no photo at"):
        parse_query(str(tmp_path / "gone.png"), KINDS)


def test_placeholders_stay_single_tokens_next_to_punctuation(tiny_clip):
    parsed = parse_query("(Fluffy), Rex! [Fluffy]. fluffy's; @Rex?", KINDS)
    tokens = tiny_clip.tokenize([parsed.prompt])
    assert int((tokens == tiny_clip.placeholder_id).sum()) == len(parsed.concepts) == 5


def _words(width: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.randn(width, generator=gen) * 0.02 for name in KINDS}


def test_plain_text_goes_through_the_same_path(tiny_clip):
    vector = query_vector(tiny_clip, parse_query("a dog on the beach", KINDS), {})
    assert vector.dtype == np.float32 and vector.shape == (tiny_clip.dim,)
    np.testing.assert_allclose(vector, tiny_clip.encode_texts(["a dog on the beach"])[0], atol=1e-5)


def test_two_concepts_get_their_own_words_in_order(tiny_clip):
    words = _words(tiny_clip.word_width)
    parsed = parse_query("Fluffy and Rex in the garden", KINDS)
    vector = query_vector(tiny_clip, parsed, words)
    expected = tiny_clip.encode_prompts(
        ["cat * and dog * in the garden"], torch.stack([words["Fluffy"], words["Rex"]])
    )[0]
    np.testing.assert_allclose(vector, expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    swapped = query_vector(tiny_clip, parsed, {"Fluffy": words["Rex"], "Rex": words["Fluffy"]})
    assert float(vector @ swapped) < 0.99


def test_negatives_are_subtracted_with_the_documented_weight(tiny_clip):
    words = _words(tiny_clip.word_width)
    vector = query_vector(tiny_clip, parse_query("Fluffy on the sofa -blanket", KINDS), words)
    positive = query_vector(tiny_clip, parse_query("Fluffy on the sofa", KINDS), words)
    negative = tiny_clip.encode_texts(["blanket"])[0]
    expected = positive - NEGATIVE_WEIGHT * negative
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    assert float(vector @ negative) < float(positive @ negative)


def test_each_named_concept_brings_its_photo_once_before_the_negatives(tiny_clip):
    words = _words(tiny_clip.word_width)
    rng = np.random.default_rng(0)
    photos = {n: v / np.linalg.norm(v) for n, v in (("Fluffy", rng.normal(size=tiny_clip.dim)),)}
    parsed = parse_query("Fluffy and Fluffy on the sofa -blanket", KINDS)
    vector = query_vector(tiny_clip, parsed, words, photos)
    text = query_vector(tiny_clip, parse_query("Fluffy and Fluffy on the sofa", KINDS), words)
    positive = text + PHOTO_WEIGHT * photos["Fluffy"]
    expected = positive / np.linalg.norm(positive)
    expected = expected - NEGATIVE_WEIGHT * tiny_clip.encode_texts(["blanket"])[0]
    np.testing.assert_allclose(vector, expected / np.linalg.norm(expected), atol=1e-5)
    alone = query_vector(tiny_clip, parsed, words, {"Rex": photos["Fluffy"]})
    np.testing.assert_allclose(alone, query_vector(tiny_clip, parsed, words), atol=1e-6)


def test_a_concept_inside_a_negative_uses_its_word(tiny_clip):
    words = _words(tiny_clip.word_width)
    first = query_vector(tiny_clip, parse_query("a sofa -Fluffy", KINDS), words)
    other = dict(words, Fluffy=words["Rex"])
    assert (
        float(first @ query_vector(tiny_clip, parse_query("a sofa -Fluffy", KINDS), other)) < 0.99
    )


def test_a_missing_word_or_an_overlong_query_is_refused(tiny_clip):
    with pytest.raises(UnknownConcept):
        query_vector(tiny_clip, parse_query("Fluffy", KINDS), {})
    long = parse_query("very " * 80 + "Fluffy", KINDS)
    with pytest.raises(BadQuery, match="too long"):
        query_vector(tiny_clip, long, _words(tiny_clip.word_width))


# A cat called "Cat" and a dog called "Max": names that are also ordinary words.
SHADOWING = {"Cat": "cat", "Max": "dog", "Fluffy": "cat"}

# (as typed, the concepts it names, the prompt): the word unless written as named or marked.
BOTH_READINGS = [
    ("a photo of a cat", (), "a photo of a cat"),
    ("Cat on the sofa", ("Cat",), "cat * on the sofa"),
    ("CAT on the sofa", (), "CAT on the sofa"),
    ("@cat on the sofa", ("Cat",), "cat * on the sofa"),
    ("[cat] on the sofa", ("Cat",), "cat * on the sofa"),
    ("the cat's bowl", (), "the cat's bowl"),
    ("Cat's bowl", ("Cat",), "cat * 's bowl"),
    ("max zoom on Max", ("Max",), "max zoom on dog *"),
    ("fluffy on the sofa", ("Fluffy",), "cat * on the sofa"),  # not an ordinary word here
]


@pytest.mark.parametrize(("typed", "concepts", "prompt"), BOTH_READINGS)
def test_a_name_that_is_an_ordinary_word_means_the_concept_only_as_named(typed, concepts, prompt):
    parsed = parse_query(typed, SHADOWING, ordinary={"Cat", "Max"})
    assert (parsed.concepts, parsed.prompt) == (concepts, prompt)


def test_a_negative_ordinary_word_stays_a_word_unless_written_as_named():
    word = parse_query("a sofa -cat", SHADOWING, ordinary={"Cat"})
    assert (word.negatives, word.negative_concepts) == (("cat",), ())
    concept = parse_query("a sofa -Cat", SHADOWING, ordinary={"Cat"})
    assert (concept.negatives, concept.negative_concepts) == (("cat *",), ("Cat",))


def test_ordinary_words_are_in_the_word_lists_or_common_single_tokens(tiny_clip):
    names = ("Cat", "Max", "maxi  dress", "Fluffy", "Mr Whiskers", "Zoë")
    found = [n for n in names if is_ordinary_word(n, tiny_clip.token_ids)]
    assert found == ["Cat", "Max", "maxi  dress"]  # kinds list, common token, objects list
