"""Personal concepts (PALAVRA): the inverter f_θ, stage-2 learning, and the concept store."""

from fluffy_desktop.engine.concepts.inverter import Inverter, train_inverter
from fluffy_desktop.engine.concepts.learn import LearnSettings, learn_word
from fluffy_desktop.engine.concepts.store import (
    BadConcept,
    Concept,
    ConceptExists,
    ConceptStore,
)

__all__ = [
    "BadConcept",
    "Concept",
    "ConceptExists",
    "ConceptStore",
    "Inverter",
    "LearnSettings",
    "learn_word",
    "train_inverter",
]
