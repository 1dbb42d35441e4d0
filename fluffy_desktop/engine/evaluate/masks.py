"""`eval pervl --masks DIR`: how well `locate` outlines each concept in its gallery image.

DIR holds one mask per gallery image, `<image stem>.png`, any non-zero pixel being the object
(YouTube-VOS ships its annotations as PNGs like these, one per frame). The concept is known to
be in its image, so only the outline is measured: the mean IoU of `locate`'s mask, from the
learned word alone ("⟨kind⟩ ⟨word⟩"), over the images that have a mask. The benchmark's images
are not on this machine: this mode waits for the day they are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.errors import FluffyError, PhotoUnreadable
from fluffy_desktop.engine.evaluate.dataset import PervlSet
from fluffy_desktop.engine.evaluate.metrics import iou
from fluffy_desktop.engine.images import DecodeFailure, load_display_image
from fluffy_desktop.engine.localise import LOCATE_SIDE, background_prompts, locate
from fluffy_desktop.engine.tasks import Progress

STAGE = "Outlining the concepts"


def _truth(mask: Path, size: tuple[int, int]) -> np.ndarray:
    with Image.open(mask) as image:
        return np.asarray(image.convert("L").resize(size, Image.Resampling.NEAREST)) > 0


def mask_quality(
    clip: ClipModel,
    pervl: PervlSet,
    alone: dict[str, np.ndarray],
    masks: Path,
    progress: Progress,
) -> dict:
    """{"iou" (percent), "images"}; alone: each concept's vector with its word alone."""
    pairs = list(
        dict.fromkeys(
            (q.concept, q.image) for q in pervl.queries if (masks / f"{q.image.stem}.png").is_file()
        )
    )
    if not pairs:
        raise FluffyError(
            f"no mask in {masks} matches a gallery image: name each <image name>.png, "
            f"e.g. {pervl.gallery[0].stem}.png"
        )
    rivals = clip.encode_texts(background_prompts())
    overlaps = []
    for done, (concept, image) in enumerate(pairs):
        progress(STAGE, done, len(pairs))
        photo = load_display_image(image, LOCATE_SIDE)
        if isinstance(photo, DecodeFailure):
            raise PhotoUnreadable(f"cannot read {image}: {photo.reason}")
        nothing = np.zeros((0, clip.dim), dtype=np.float32)
        where = locate(clip, photo, (concept, alone[concept]), (rivals, nothing), (1.0, 0.0))
        overlaps.append(iou(where.mask, _truth(masks / f"{image.stem}.png", photo.size)))
    progress(STAGE, len(pairs), len(pairs))
    return {"iou": round(100.0 * float(np.mean(overlaps)), 4), "images": len(overlaps)}
