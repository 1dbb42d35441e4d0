"""What the world model itself can see: zero-shot kind and colour on the evaluation gallery.

Every personal figure is capped by what the frozen model tells apart. On the gallery's photos
of one thing (the held-out individuals and their look-alikes, all combinations CLIP never saw),
each photo is compared with "a photo of a ⟨kind⟩" for the eight kinds, and with "a photo of a
⟨colour⟩ ⟨its kind⟩" for the named colours. Chance is 1 in 8 and 1 in 11.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fluffy_desktop.engine.evaluate.world.things import COLOURS, KINDS

if TYPE_CHECKING:
    from fluffy_desktop.engine.evaluate.world.run import Setup


def zero_shot_quality(setup: Setup) -> dict:
    """{"kind", "colour", "photos"}: zero-shot accuracy in percent over one-thing photos."""
    clip = setup.album.clip()
    single = [i for i, scene in enumerate(setup.world.gallery) if len(scene.things) == 1]
    things = [setup.world.gallery[i].things[0].individual for i in single]
    seen = setup.vectors[single]
    kinds = clip.encode_texts([f"a photo of a {kind}" for kind in KINDS])
    named_kind = np.array(KINDS)[(seen @ kinds.T).argmax(axis=1)]
    colours = list(COLOURS)
    right_colour = []
    for kind in KINDS:
        rows = [n for n, thing in enumerate(things) if thing.kind == kind]
        texts = clip.encode_texts([f"a photo of a {colour} {kind}" for colour in colours])
        named = np.array(colours)[(seen[rows] @ texts.T).argmax(axis=1)]
        right_colour += list(named == np.array([things[n].colour for n in rows]))
    return {
        "kind": round(100.0 * float(np.mean(named_kind == [t.kind for t in things])), 2),
        "colour": round(100.0 * float(np.mean(right_colour)), 2),
        "photos": len(single),
    }
