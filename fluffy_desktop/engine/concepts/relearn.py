"""What re-learning a concept for the model in use did, in the shape of `concepts relearn`."""

from __future__ import annotations

from dataclasses import dataclass

from fluffy_desktop.engine.model_state import NEEDS_PHOTOS

RELEARNED = "relearned"  # learned again from its photos
REUSED = "reused"  # the copy learned with this model before was still good
UP_TO_DATE = "up to date"  # already learned with this model


@dataclass(frozen=True)
class RelearnReport:
    """One concept: its new state, the photos it learned from (examples and "yes" answers),
    how many of those were found again after a move, and how many are missing."""

    name: str
    state: str
    photos: int = 0
    moved: int = 0
    missing: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "state": self.state,
            "photos": self.photos,
            "moved": self.moved,
            "missing": self.missing,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line for people."""
        if self.state == NEEDS_PHOTOS:
            return (
                f"{self.name}: needs photos: none of its {self.missing} photos can be found "
                "(moved out of the library or deleted); it is kept, and learning it again "
                "from new photos brings it back"
            )
        if self.state == REUSED:
            return f"{self.name}: uses the copy learned with this model before"
        if self.state == UP_TO_DATE:
            return f"{self.name}: already learned with this model"
        notes = [f"{self.moved} found again after a move"] * bool(self.moved)
        notes += [f"{self.missing} missing"] * bool(self.missing)
        detail = f" ({', '.join(notes)})" if notes else ""
        photos = f"{self.photos} photo{'s' * (self.photos != 1)}"
        return f"{self.name}: re-learned from {photos}{detail} in {self.seconds:.1f} s"
