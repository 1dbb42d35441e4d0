"""Which CLIP model to use, and the names that go with it: no torch, so the GUI can read them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ARCH = "ViT-B-32"
# Best text-to-image retrieval of the ViT-B/32 tags with the built-in text tower
# (open_clip's retrieval table: MSCOCO image R@1 0.393, Flickr30k 0.668).
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"
# An existing single BPE token stands for a learned word; ids past the vocabulary would break
# the argmax (end-of-text) pooling. User text never carries it: query parsing removes it.
PLACEHOLDER = "*"


@dataclass(frozen=True)
class ModelSpec:
    """Which model to load: an architecture plus a hub tag or a local weights file."""

    arch: str = DEFAULT_ARCH
    pretrained: str | None = DEFAULT_PRETRAINED
    weights: Path | None = None
    device: str = "auto"

    @classmethod
    def from_env(cls, **overrides: object) -> ModelSpec:
        """The FLUFFY_* environment mirrors, with explicit (non-None) values winning."""
        env = {
            "arch": os.environ.get("FLUFFY_MODEL"),
            "pretrained": os.environ.get("FLUFFY_PRETRAINED"),
            "weights": os.environ.get("FLUFFY_WEIGHTS"),
            "device": os.environ.get("FLUFFY_DEVICE"),
        }
        values: dict[str, object] = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("weights") is not None:
            values["weights"] = Path(str(values["weights"]))
        return cls(**values)  # type: ignore[arg-type]
