"""The bench's own photo folder: phone-size JPEGs, generated once and kept between runs.

A few distinct scenes are rendered at full size (soft shapes plus sensor-like noise, so the
JPEGs weigh and decode like real ones); each photo is one scene, shifted, with its own marks,
so that every file and every embedding differs.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from fluffy_desktop.engine.tasks import Progress, no_progress

PHONE_SIZE = (4032, 3024)
SCENES = 8
SHIFT = 64  # pixels a photo may be shifted within its scene
NOISE = 16  # ± grey levels of per-pixel noise
QUALITY = 85


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def _scene(index: int, size: tuple[int, int]) -> Image.Image:
    """A scene SHIFT pixels larger than size: blurred shapes, upscaled, plus noise."""
    rng = random.Random(f"scene-{index}")
    width, height = size[0] + SHIFT, size[1] + SHIFT
    small = Image.new("RGB", (max(8, width // 16), max(8, height // 16)), _colour(rng))
    draw = ImageDraw.Draw(small)
    for _ in range(40):
        x, y = rng.randrange(small.width), rng.randrange(small.height)
        r = rng.randrange(2, max(3, small.width // 4))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_colour(rng))
    small = small.filter(ImageFilter.GaussianBlur(2))
    pixels = np.asarray(small.resize((width, height), Image.Resampling.BILINEAR), dtype=np.int16)
    noise = np.random.default_rng(index).integers(-NOISE, NOISE + 1, pixels.shape, np.int16)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def _photo(scene: Image.Image, index: int, size: tuple[int, int]) -> Image.Image:
    """Photo `index`: a shifted crop of its scene with a few marks of its own."""
    rng = random.Random(f"photo-{index}")
    left, top = rng.randrange(SHIFT + 1), rng.randrange(SHIFT + 1)
    photo = scene.crop((left, top, left + size[0], top + size[1]))
    draw = ImageDraw.Draw(photo)
    for _ in range(3):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        r = rng.randrange(max(2, size[0] // 40), max(3, size[0] // 6))
        draw.rectangle([x - r, y - r, x + r, y + r], fill=_colour(rng))
    return photo


def bench_photos(
    workdir: Path,
    count: int,
    size: tuple[int, int] = PHONE_SIZE,
    progress: Progress = no_progress,
) -> Path:
    """The folder of `count` bench photos at `size` under workdir, made where missing."""
    folder = Path(workdir) / f"photos-{size[0]}x{size[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {i: folder / f"bench-{i:04d}.jpg" for i in range(count)}
    missing = [i for i, path in paths.items() if not path.is_file()]
    for extra in folder.glob("bench-*.jpg"):
        if extra not in paths.values():
            extra.unlink()
    done = 0
    for scene_index in range(SCENES):
        group = [i for i in missing if i % SCENES == scene_index]
        if not group:
            continue
        scene = _scene(scene_index, size)
        for i in group:
            progress("Making bench photos", done, len(missing))
            tmp = paths[i].with_suffix(".tmp")
            _photo(scene, i, size).save(tmp, format="JPEG", quality=QUALITY)
            os.replace(tmp, paths[i])
            done += 1
    progress("Making bench photos", len(missing), len(missing))
    return folder
