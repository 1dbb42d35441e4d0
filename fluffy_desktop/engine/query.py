"""Search queries: concept names inside free text, "-negative" terms, and photo paths.

"Fluffy asleep on the sofa -blanket" with Fluffy a cat becomes the prompt
"cat * asleep on the sofa" (the word of Fluffy goes in at "*") and the negative "blanket".
A name that is also an ordinary word (concepts/names.py) means the concept only when written
with its own capitals, or as @Name or [Name].
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from fluffy_desktop.engine.clip import PLACEHOLDER, ClipModel
from fluffy_desktop.engine.concepts.prompts import concept_slot
from fluffy_desktop.engine.errors import BadQuery, UnknownConcept
from fluffy_desktop.engine.images import is_image_name

# A negative term subtracts this much of the mean negative embedding before renormalising:
# strong enough to push photos that match it down the list, weak enough that the positive
# text still decides what the results are about.
NEGATIVE_WEIGHT = 0.5
# A concept's examples' mean photo joins the positive text at this weight, once per concept
# named: on the semantic world it lifted in-context MRR and identity precision on both world
# models measured, over 20 seeds (README, "The word and the photos together").
PHOTO_WEIGHT = 0.25


@dataclass(frozen=True)
class ParsedQuery:
    """A query split into its parts.

    prompt: the positive text, each concept occurrence replaced by "<kind> *".
    concepts: the concept names in the order of the placeholders in prompt (repeats allowed).
    negatives: the negative terms, in the same form as prompt.
    negative_concepts: the concept names of the placeholders in negatives, in reading order.
    image: the photo when the whole query is the path of an existing image file.
    """

    prompt: str
    concepts: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()
    image: Path | None = None
    negative_concepts: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every concept whose word query_vector needs (positive and negative), once each."""
        return tuple(dict.fromkeys(self.concepts + self.negative_concepts))


def _image_path(text: str) -> Path | None:
    candidate = Path(text.strip().strip("\"'")).expanduser()
    if not is_image_name(candidate.name):
        return None
    if candidate.is_file():
        return candidate
    if len(candidate.parts) > 1:
        raise BadQuery(f"no photo at {candidate}: check the path")
    return None


def _name_regex(names: list[str]) -> str:
    """Whole-word names, longest first, optionally as @Name, [Name] or Name's."""
    ordered = sorted(names, key=len, reverse=True)
    words = "|".join(r"\s+".join(map(re.escape, n.split())) for n in ordered)
    return rf"(?<!\w)(?P<mark>[@\[])?(?P<name>{words})(?:\]|(?P<poss>['’]s))?(?!\w)"


def _negative_pattern(names: str | None) -> re.Pattern:
    """A "-" starting a word, then a quoted phrase, a concept name (spaces and all) or a word."""
    concept = rf"{names}\S*|" if names else ""
    return re.compile(
        rf'(?:^|(?<=\s))-(?:"(?P<quoted>[^"]*)"|(?P<term>{concept}\S+))', re.IGNORECASE
    )


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class _Substituter:
    """Replaces concept names in text by "<kind> *", remembering which concepts it put in."""

    def __init__(self, kinds: Mapping[str, str], ordinary: Collection[str] = ()):
        self.kinds = {_key(n): (n, k) for n, k in kinds.items() if _key(n)}
        self.ordinary = {_key(n) for n in ordinary}
        names = [n for n, _ in self.kinds.values()]
        self.name_regex = _name_regex(names) if names else None
        self.pattern = re.compile(self.name_regex, re.IGNORECASE) if self.name_regex else None

    def __call__(self, text: str) -> tuple[str, list[str]]:
        text = text.replace(PLACEHOLDER, " ").replace('"', " ")
        found: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if _key(match.group("name")) not in self.kinds or self._a_word(match):
                return match.group(0)  # exotic case folding, or the ordinary word
            name, kind = self.kinds[_key(match.group("name"))]
            found.append(name)
            possessive = " 's" if match.group("poss") else ""
            return f" {concept_slot(kind)}{possessive} "

        if self.pattern is not None:
            text = self.pattern.sub(replace, text)
        return " ".join(text.split()), found

    def _a_word(self, match: re.Match[str]) -> bool:
        """An ordinary-word name written neither with its own capitals nor marked as a name."""
        written = " ".join(match.group("name").split())
        key = _key(written)
        return key in self.ordinary and not match.group("mark") and written != self.kinds[key][0]


def parse_query(text: str, kinds: Mapping[str, str], ordinary: Collection[str] = ()) -> ParsedQuery:
    """Parse a query; kinds maps each concept name to its kind, `ordinary` holds the names that
    are also ordinary words (see the module docstring). BadQuery when nothing is asked."""
    image = _image_path(text) if text.strip() else None
    if image is not None:
        return ParsedQuery(prompt="", image=image)
    if text.count('"') % 2:
        raise BadQuery('the query has an unclosed quote ("): close it or remove it')
    substitute = _Substituter(kinds, ordinary)
    negative = _negative_pattern(substitute.name_regex)
    negatives, negative_concepts = [], []
    for match in negative.finditer(text):
        term, found = substitute(match.group("quoted") or match.group("term") or "")
        if term:
            negatives.append(term)
            negative_concepts += found
    prompt, concepts = substitute(negative.sub(" ", text))
    if not prompt:
        hint = "add what to look for, e.g. 'beach -sunset'" if negatives else "type what to find"
        raise BadQuery(f"the query asks for nothing: {hint}")
    return ParsedQuery(prompt, tuple(concepts), tuple(negatives), None, tuple(negative_concepts))


def _encode(
    clip: ClipModel, prompts: list[str], names: tuple[str, ...], words: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """Normalised embeddings of prompts, placeholders filled with the named concepts' words."""
    missing = [n for n in names if n not in words]
    if missing:
        raise UnknownConcept(f"no word is known for concept {missing[0]!r}")
    tokens = clip.tokenize(prompts)
    if int((tokens == clip.placeholder_id).sum()) != len(names):
        raise BadQuery("the query is too long: shorten it")
    filled = torch.stack([torch.as_tensor(words[n]).float() for n in names]) if names else None
    return F.normalize(clip.encode_tokens(tokens, filled), dim=-1)


def _with_photos(
    vector: torch.Tensor, names: tuple[str, ...], photos: Mapping[str, np.ndarray]
) -> torch.Tensor:
    """The positive text plus PHOTO_WEIGHT × the mean example photo of each concept it names."""
    shown = [torch.as_tensor(photos[n]).float() for n in dict.fromkeys(names) if n in photos]
    if not shown:
        return vector
    added = PHOTO_WEIGHT * torch.stack(shown).sum(dim=0).to(vector.device)
    return F.normalize(vector + added, dim=-1)


@torch.no_grad()
def query_vector(
    clip: ClipModel,
    parsed: ParsedQuery,
    words: Mapping[str, torch.Tensor],
    photos: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The query's L2-normalised float32 embedding (dim,): positive minus weighted negatives.
    `photos`: each concept's mean example photo (unit vectors), joined to the positive text."""
    if parsed.image is not None:
        raise ValueError("image queries use the photo's own embedding")
    vector = _encode(clip, [parsed.prompt], parsed.concepts, words)[0]
    if photos:
        vector = _with_photos(vector, parsed.concepts, photos)
    if parsed.negatives:
        negatives = _encode(clip, list(parsed.negatives), parsed.negative_concepts, words)
        vector = F.normalize(vector - NEGATIVE_WEIGHT * negatives.mean(dim=0), dim=-1)
    return vector.float().cpu().numpy()
