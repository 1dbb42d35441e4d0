"""Concept names that are also ordinary words ("Cat", "Max", "Pepper").

Such a name would otherwise take the word over in every query: "a photo of a cat" would mean
the concept Cat. So in a query it means the concept only when written as the user named it,
capitals and all ("Cat on the sofa"), or marked as a name: "@cat", "[cat]". Learning one
warns and says so.

A name is an ordinary word when it is in the shipped word lists (resources/words) or is a
single common BPE token: CLIP's vocabulary lists merges in the order they were learned, most
frequent first, and the first COMMON_TOKEN_IDS ids cover everyday words (cat 2368, max 3902,
garden 2756) while most pet names are rarer (fluffy 17054, luna 14425) or several tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from fluffy_desktop.engine.resources import word_list

COMMON_TOKEN_IDS = 10_000


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@lru_cache(maxsize=1)
def shipped_words() -> frozenset[str]:
    """Every name in the shipped word lists (kinds, and both columns of objects), casefolded."""
    words: set[str] = set()
    for file in ("words/kinds.txt", "words/objects.tsv"):
        for line in word_list(file):
            words.update(_key(part) for part in line.split("\t") if part.strip())
    return frozenset(words)


def is_ordinary_word(name: str, token_ids: Callable[[str], list[int]]) -> bool:
    """Whether the name is also an ordinary word (see the module docstring); `token_ids` is
    the model's tokenizer (ClipModel.token_ids)."""
    key = _key(name)
    if key in shipped_words():
        return True
    ids = token_ids(key)
    return len(ids) == 1 and ids[0] < COMMON_TOKEN_IDS


def shadow_warning(name: str) -> str:
    """The one line that tells how to search for a concept whose name is an ordinary word."""
    return (
        f"{name!r} is also an ordinary word: in a search it means this concept only when "
        f"written {name} (with these capitals), @{name} or [{name}]; otherwise it means the word"
    )
