"""The naming loss: the world model learns to name what the generator knows about each scene.

Captions name only some attributes, and in-batch contrast only needs what tells a batch's
scenes apart, so a short CPU training learns kinds, colours and patterns slowly. Each step
therefore also scores every photo against short attribute phrases, the caption's own words,
and asks it to prefer the true one among its rivals (a cross-entropy per attribute, at the
model's logit scale): its place among the places, and for a photo of one thing its kind among
the kinds, its colour among "⟨colour⟩ ⟨kind⟩", its pattern among "⟨pattern⟩ ⟨kind⟩", and a
patterned thing's pattern colour among "with ⟨colour⟩ ⟨stripes⟩". Held-out combinations still
never appear: the labels come from the training scenes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fluffy_desktop.engine.evaluate.world.places import PLACE_PHRASES, PLACES
from fluffy_desktop.engine.evaluate.world.scene import Scene
from fluffy_desktop.engine.evaluate.world.things import COLOURS, KINDS, PATTERN_NOUNS, PATTERNS

COLOUR_NAMES = tuple(COLOURS)
NOUNS = tuple(PATTERN_NOUNS.values())
NONE = -1  # no label: a photo of two things, or a plain thing's pattern colour
LABELS = ("place", "kind", "colour", "pattern", "noun", "pattern_colour")


def naming_phrases() -> list[str]:
    """Every phrase the loss scores, in the order `naming_loss` slices them."""
    return (
        [PLACE_PHRASES[place] for place in PLACES]
        + [f"a photo of a {kind}" for kind in KINDS]
        + [f"a {colour} {kind}" for kind in KINDS for colour in COLOUR_NAMES]
        + [f"a {pattern} {kind}" for kind in KINDS for pattern in PATTERNS]
        + [f"with {colour} {noun}" for noun in NOUNS for colour in COLOUR_NAMES]
    )


def scene_labels(scene: Scene) -> list[int]:
    """The scene's label per entry of LABELS (NONE where it has none)."""
    place = PLACES.index(scene.place)
    if len(scene.things) != 1:
        return [place] + [NONE] * (len(LABELS) - 1)
    thing = scene.things[0].individual
    patterned = thing.pattern_colour is not None
    return [
        place,
        KINDS.index(thing.kind),
        COLOUR_NAMES.index(thing.colour),
        PATTERNS.index(thing.pattern),
        NOUNS.index(PATTERN_NOUNS[thing.pattern]) if patterned else NONE,
        COLOUR_NAMES.index(thing.pattern_colour) if patterned else NONE,
    ]


def _choice_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the rows that have a label (zero when none has)."""
    keep = targets != NONE
    if not bool(keep.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[keep], targets[keep])


def naming_loss(
    images: torch.Tensor, phrases: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """The sum over LABELS of each attribute's cross-entropy; images and phrases normalised,
    labels batch × len(LABELS), phrases in `naming_phrases` order."""
    place, kind, colour, pattern, noun, pattern_colour = labels.T
    sizes = [len(PLACES), len(KINDS), len(KINDS) * len(COLOURS), len(KINDS) * len(PATTERNS)]
    places, kinds, colours, patterns, nouns = phrases.split([*sizes, len(NOUNS) * len(COLOURS)])
    own_kind = kind.clamp(min=0)
    own_noun = noun.clamp(min=0)

    def among(table: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Each photo's logits against its own group of rival phrases (groups × rivals × dim)."""
        return scale * torch.einsum("bd,brd->br", images, table[rows])

    return (
        _choice_loss(scale * images @ places.T, place)
        + _choice_loss(scale * images @ kinds.T, kind)
        + _choice_loss(among(colours.reshape(len(KINDS), len(COLOURS), -1), own_kind), colour)
        + _choice_loss(among(patterns.reshape(len(KINDS), len(PATTERNS), -1), own_kind), pattern)
        + _choice_loss(among(nouns.reshape(len(NOUNS), len(COLOURS), -1), own_noun), pattern_colour)
    )
