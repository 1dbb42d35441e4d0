"""Prompt templates shared by learning and inverter training, and filling their slot properly."""

from __future__ import annotations

import re

from fluffy_desktop.engine.clip import PLACEHOLDER

# Stage 2: the concept is spoken of as "<kind> *", the super-concept as "<kind>".
LEARN_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}",
    "a photo of my {}",
    "a good photo of a {}",
    "a cropped photo of a {}",
    "a blurry photo of a {}",
    "a bright photo of a {}",
    "a {} at home",
    "{}",
)

# Stage 1 cycle loss: the predicted word and the true name take turns in the same slot.
CYCLE_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}",
    "this is a photo of a {}",
    "this photo contains a {}",
    "a picture of a {}",
    "an illustration of a {}",
    "this illustration contains a {}",
    "a sketch of a {}",
    "this is a sketch of a {}",
    "a diagram of a {}",
    "a {}",
    "{}",
    "we see a {}",
    "we see a {} in this photo",
    "we see a {} in this image",
    "we see a {} in this illustration",
    "a close-up photo of a {}",
    "a photo of my {}",
    "there is a {} in the picture",
    "a cropped photo of a {}",
    "a good photo of a {}",
)

# Text-augmented training sets: captions of imagined photos that show the object.
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}",
    "a {} on the table",
    "a {} in the living room",
    "a close-up of a {}",
    "a {} outdoors",
    "someone holding a {}",
    "a blurry photo of a {}",
    "a {} next to the window",
    "my {}",
    "a small {}",
    "a large {}",
    "a {} on the floor",
    "a picture of a {} in the garden",
    "an old {}",
    "a {} at night",
    "a bright photo of a {}",
)

_SLOT_ARTICLE = re.compile(r"\b([Aa])n? $")


def fill(template: str, text: str, article_for: str | None = None) -> str:
    """Put text in the template's slot; the article just before the slot ("a"/"an") agrees
    with `article_for` (default: the text). No other article in the template changes.

    A placeholder is always spaced from its neighbours, since the tokenizer merges "*" with
    touching punctuation into another token.
    """
    before, slot, after = template.partition("{}")
    if slot:
        vowel = (article_for or text).strip()[:1].lower() in "aeiou"
        before = _SLOT_ARTICLE.sub(lambda m: f"{m.group(1)}{'n' if vowel else ''} ", before)
    filled = f"{before}{text.strip()}{after}" if slot else template
    return " ".join(filled.replace(PLACEHOLDER, f" {PLACEHOLDER} ").split())


def concept_slot(kind: str) -> str:
    """How a concept is spoken of in a prompt: its kind, then its word ("cat *")."""
    kind = " ".join(kind.replace(PLACEHOLDER, " ").split())
    return f"{kind} {PLACEHOLDER}" if kind else PLACEHOLDER
