"""Filling a prompt's slot: only the slot's own article follows what goes in it."""

from fluffy_desktop.engine.concepts.inverter import _article_word
from fluffy_desktop.engine.concepts.prompts import fill
from fluffy_desktop.engine.concepts.wordsets import SetSource


def test_only_the_slots_article_changes():
    assert fill("a entrance with a {}", "owl") == "a entrance with an owl"
    assert fill("an apple next to a {}", "cat") == "an apple next to a cat"
    assert fill("a {} and an orange", "cat *") == "a cat * and an orange"


def test_a_bare_placeholder_takes_the_article_of_the_name_it_stands_for():
    assert fill("a photo of a {}", "*", "apple") == "a photo of an *"
    assert fill("a photo of a {}", "*", "cat") == "a photo of a *"


def test_the_cycle_prediction_reads_the_same_article_as_its_target():
    """ "a photo of a *" against "a photo of an apple" made the two differ in more than the word."""
    source = SetSource(["apple", "green apple"], ["*", "fruit *"], [])
    assert fill("a photo of a {}", source.slots[0], _article_word(source, 0)) == "a photo of an *"
    assert _article_word(source, 1) is None
    assert (
        fill("a photo of a {}", source.slots[1], _article_word(source, 1)) == "a photo of a fruit *"
    )
