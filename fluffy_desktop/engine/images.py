"""Safe photo decoding: every failure is a value, never an exception that stops a run.

Needs only PIL (no torch), so the GUI can use it for thumbnails.
"""

from __future__ import annotations

import math
import stat
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError, features

from fluffy_desktop.engine.errors import PhotoUnreadable, first_line

# Larger images are refused as possible decompression bombs (a 100 MP camera still fits).
MAX_PIXELS = 200_000_000
# PIL's own guard: it warns above this and refuses above twice it; we refuse first, ourselves.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# The model sees a centre square; a longer side past this ratio only costs time and memory.
MAX_ASPECT = 4

_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 36867
_DATE_TIME = 306
ORIENTATION = 0x0112


def _suffixes() -> frozenset[str]:
    """What the walk picks up: Pillow's everyday formats, AVIF when built in, HEIC (iPhones)."""
    names = {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
    if features.check("avif"):
        names.add(".avif")
    pillow_heif.register_heif_opener()
    return frozenset(names | {".heic", ".heif"})


IMAGE_SUFFIXES: frozenset[str] = _suffixes()


def is_image_name(name: str) -> bool:
    """True when the file name has a photo suffix we can decode (any case)."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_SUFFIXES


@dataclass(frozen=True)
class DecodedPhoto:
    """A decoded RGB photo, upright, with its EXIF capture date (ISO-8601) when known."""

    path: Path
    image: Image.Image
    taken: str | None


@dataclass(frozen=True)
class DecodeFailure:
    """A file that could not be decoded, and a short human reason."""

    path: Path
    reason: str


class _Refused(Exception):
    """A decoding problem we detected ourselves; its message is the reason."""


def decode_photo(path: Path, min_side: int = 224) -> DecodedPhoto | DecodeFailure:
    """Decode for the model: RGB, upright, shortest side about min_side (never below it
    unless the photo is smaller), the long side cropped to MAX_ASPECT around the centre."""
    path = Path(path)
    try:
        image, taken = _load(path, min_side, shortest=True)
    except Exception as exc:
        return DecodeFailure(path, _reason(exc))
    image = _crop_aspect(image)
    factor = min(image.size) // max(1, min_side)
    if factor >= 2:
        image = image.reduce(factor)
    return DecodedPhoto(path, image, taken)


def read_photo(path: Path, min_side: int) -> Image.Image:
    """decode_photo's image, or PhotoUnreadable naming the file and why (for photos a user
    handed over, where an unreadable one must stop the work)."""
    decoded = decode_photo(path, min_side)
    if isinstance(decoded, DecodeFailure):
        raise PhotoUnreadable(f"cannot read {path}: {decoded.reason}")
    return decoded.image


def load_display_image(path: Path, max_side: int) -> Image.Image | DecodeFailure:
    """An RGB, upright image that fits in max_side × max_side, for thumbnails and previews."""
    path = Path(path)
    try:
        image, _ = _load(path, max_side, shortest=False)
    except Exception as exc:
        return DecodeFailure(path, _reason(exc))
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def upright_size(path: Path) -> tuple[int, int]:
    """(width, height) of a photo as shown, after its EXIF orientation."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            turned = image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception as exc:
        raise PhotoUnreadable(f"cannot read {path}: {_reason(exc)}") from exc
    return (height, width) if turned else (width, height)


def _load(path: Path, side: int, shortest: bool) -> tuple[Image.Image, str | None]:
    """Open, check, decode (JPEG in draft mode, just big enough for `side` on the shortest
    or longest edge), orient and convert to RGB; raises on any problem."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise _Refused("not a regular file")
    if info.st_size == 0:
        raise _Refused("empty file")
    with Image.open(path) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _Refused("too large (decompression bomb)")
        taken = _taken(image)
        edge = min(width, height) if shortest else max(width, height)
        scale = min(1.0, side / max(1, edge))
        image.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
        image.load()
        return _to_rgb(_upright(image)), taken


def _upright(image: Image.Image) -> Image.Image:
    """A copy with the EXIF orientation applied; broken EXIF keeps the photo as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        return image.copy()


def taken_at(path: Path) -> str | None:
    """A photo file's EXIF date without decoding its pixels; None when absent or unreadable."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a fifo would block, a folder cannot open
            return None
        with Image.open(path) as image:
            return _taken(image)
    except (OSError, ValueError, Image.DecompressionBombError):  # missing, not an image, huge
        return None


def _taken(image: Image.Image) -> str | None:
    """EXIF DateTimeOriginal, else DateTime, as ISO-8601; None when absent or invalid."""
    try:
        exif = image.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
        text = str(raw).strip("\x00 ")[:19]
        return datetime.strptime(text, "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:
        return None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Every mode to RGB: transparency on white, high bit depths scaled, not clipped."""
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, "white")
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda v: v / 256)
    elif image.mode in ("I", "F"):
        low, high = cast(tuple[float, float], image.getextrema())  # one band in I and F
        span = (high - low) or 1
        image = image.point(lambda v: (v - low) * 255 / span)
    if image.mode in ("I", "F"):
        image = image.convert("L")
    return image.convert("RGB")


def _crop_aspect(image: Image.Image) -> Image.Image:
    """Crop the long side around the centre to at most MAX_ASPECT × the short side."""
    width, height = image.size
    short = min(width, height)
    keep_w, keep_h = min(width, short * MAX_ASPECT), min(height, short * MAX_ASPECT)
    if (keep_w, keep_h) == (width, height):
        return image
    left, top = (width - keep_w) // 2, (height - keep_h) // 2
    return image.crop((left, top, left + keep_w, top + keep_h))


def _reason(exc: Exception) -> str:
    """A short human reason for a decoding exception."""
    if isinstance(exc, _Refused):
        return str(exc)
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return "too large (decompression bomb)"
    if isinstance(exc, UnidentifiedImageError):
        return "not an image"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, MemoryError):
        return "too large to decode"
    message = first_line(exc)
    if "truncated" in message.lower() or isinstance(exc, EOFError):
        return "truncated file"
    if isinstance(exc, OSError) and exc.strerror:
        return f"unreadable: {exc.strerror.lower()}"
    return f"damaged image ({message[:80] or type(exc).__name__})"
