"""How much of the library and which concepts are ready for the model in use.

Photo vectors carry the identity of the model that made them (the catalog's model tag and
each photo's status, Catalog.coverage); a concept is ready when it, or a copy of it kept from
an earlier switch, was learned with that model (ConceptStore.version).
"""

from __future__ import annotations

from dataclasses import dataclass

READY = "ready"
RELEARN = "relearn"  # learned with another model; its photos are there to learn from again
NEEDS_PHOTOS = "needs photos"  # learned with another model, and none of its photos is left


def embedding_notice(embedded: int, photos: int) -> str | None:
    """The one line that explains results cut short by a model change (None: nothing to say)."""
    if embedded >= photos:
        return None
    if embedded == 0:
        return (
            f"the library was embedded with another model: none of its {photos:,} photos is "
            "re-embedded for the current model yet, so no photo can match"
        )
    return (
        f"the library is being re-embedded for the current model: results cover the "
        f"{embedded:,} of {photos:,} photos done so far"
    )


@dataclass(frozen=True)
class ModelState:
    """Photos embedded with the current model against all readable ones, and each concept's
    state (READY, RELEARN or NEEDS_PHOTOS) by name."""

    embedded: int
    photos: int
    concepts: dict[str, str]

    @property
    def usable(self) -> list[str]:
        return [name for name, state in self.concepts.items() if state == READY]

    def named(self, state: str) -> list[str]:
        return [name for name, found in self.concepts.items() if found == state]

    @property
    def notice(self) -> str | None:
        return embedding_notice(self.embedded, self.photos)

    @property
    def ready(self) -> bool:
        """Every photo embedded and every concept learned with the model in use."""
        return self.notice is None and len(self.usable) == len(self.concepts)

    def concepts_line(self) -> str:
        """'1 of 3 concepts ready for this model; to re-learn: Rex; needs photos: Max'."""
        parts = [f"{len(self.usable)} of {len(self.concepts)} ready for this model"]
        for state, label in ((RELEARN, "to re-learn"), (NEEDS_PHOTOS, "needs photos")):
            if self.named(state):
                parts.append(f"{label}: {', '.join(self.named(state))}")
        return "; ".join(parts)
