"""Synthetic photo libraries for tests: plain photos, odd-but-valid images, hostile files.

Every generator writes small files quickly and returns what it wrote, so tests can say what
must be indexed, reported or skipped. Photos get distinct colours and shapes (so their
embeddings differ) and, optionally, EXIF capture dates.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import io
import os
import random
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

EXIF_IFD = 0x8769
DATE_TIME_ORIGINAL = 36867
ORIENTATION = 0x0112
NON_UTF8_NAME = b"caf\xe9 latin-1.jpg"  # valid on Linux, not valid UTF-8
# What decoding says about each reported file of make_hostile_files.
HOSTILE_REASONS = {
    "empty": "empty file",
    "text": "not an image",
    "html": "not an image",
    "random": "not an image",
    "truncated": "truncated file",
    "header_only": "not an image",
    "bomb": "too large (decompression bomb)",
}


def photo_image(index: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A distinct picture per index: its own background hue and a shape in its own place."""
    hue = (index * 0.618033988749895) % 1.0
    background = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, 0.7, 0.9))
    foreground = tuple(255 - c for c in background)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    w, h = size
    x, y = (index * 7) % max(1, w // 2), (index * 5) % max(1, h // 2)
    box = (x, y, x + max(1, w // 2), y + max(1, h // 2))
    if index % 3 == 0:
        draw.rectangle(box, fill=foreground)
    elif index % 3 == 1:
        draw.ellipse(box, fill=foreground)
    else:
        draw.polygon(
            [(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fill=foreground
        )
    return image


def exif_date(index: int) -> str:
    """An EXIF date-time ("YYYY:MM:DD HH:MM:SS"), distinct for the first 336 indexes."""
    return f"2020:{1 + index // 28 % 12:02d}:{1 + index % 28:02d} 12:{index % 60:02d}:00"


def write_photo(
    path: Path | bytes,
    index: int = 0,
    size: tuple[int, int] = (64, 48),
    taken: str | None = None,
) -> Path:
    """Write photo_image(index) to path (format from the suffix), with an EXIF date if given."""
    image = photo_image(index, size)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(EXIF_IFD)[DATE_TIME_ORIGINAL] = taken
    return _save(path, image, exif=exif)


def _save(path: Path | bytes, image: Image.Image, **params) -> Path:
    """Save through bytes (any file name the OS accepts); the format follows the suffix."""
    raw = os.fsencode(path)
    name = os.fsdecode(raw)
    fmt = Image.registered_extensions()[Path(name).suffix.lower()]
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    with open(raw, "wb") as handle:
        handle.write(buffer.getvalue())
    return Path(name)


def make_library(root: Path, n: int, dated: bool = True, start: int = 0) -> list[Path]:
    """n small JPEGs spread over nested folders (up to three levels deep) under root."""
    paths = []
    for i in range(start, start + n):
        folder = Path(root, f"album-{i % 3}", *(["trip"] * (i % 3)))
        folder.mkdir(parents=True, exist_ok=True)
        taken = exif_date(i) if dated else None
        paths.append(write_photo(folder / f"photo-{i:04d}.jpg", i, taken=taken))
    return paths


def make_odd_images(root: Path) -> dict[str, Path]:
    """Valid photos that are awkward to decode or to name; all must be indexed."""
    root.mkdir(parents=True, exist_ok=True)
    odd = {
        "cmyk": _save(root / "cmyk.jpg", Image.new("CMYK", (40, 30), (0, 255, 255, 0))),
        "gray16": _save(root / "gray16.png", Image.new("I;16", (40, 30), 0x8000)),
        "palette": _save(root / "palette.png", _palette_with_transparency(), transparency=0),
        "rgba": _save(root / "rgba.png", Image.new("RGBA", (40, 30), (255, 0, 0, 0))),
        "animated": _animated_gif(root / "animated.gif"),
        "rotated": _rotated(root / "rotated.jpg"),
        "one_pixel": _save(root / "one-pixel.png", Image.new("RGB", (1, 1), "green")),
        "panorama": write_photo(root / "panorama.jpg", 1, size=(8000, 40)),
        "upper": write_photo(root / "IMG_0001.JPG", 2),
        "spaces": write_photo(root / "my photo with spaces.jpg", 3),
        "non_ascii": write_photo(root / "café ☕ 写真.jpeg", 4),
        "webp": write_photo(root / "small.webp", 5),
        "tiff": write_photo(root / "scan.tif", 6),
    }
    with contextlib.suppress(OSError):  # file systems that insist on UTF-8 names (macOS)
        odd["non_utf8"] = write_photo(os.fsencode(root) + b"/" + NON_UTF8_NAME, 7)
    odd["heic"] = write_photo(root / "phone.heic", 8)
    return odd


def _palette_with_transparency() -> Image.Image:
    """A P image whose left half is index 0 (transparent) and right half index 1 (blue)."""
    image = Image.new("P", (40, 30), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(image).rectangle((20, 0, 39, 29), fill=1)
    return image


def _animated_gif(path: Path) -> Path:
    """Two frames: red first, then blue."""
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue")]
    return _save(path, frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)


def _rotated(path: Path) -> Path:
    """Stored 60×30, left half red, right half blue, EXIF orientation 6 (turn 90° clockwise):
    shown upright it is 30×60, red on top."""
    image = Image.new("RGB", (60, 30), "blue")
    ImageDraw.Draw(image).rectangle((0, 0, 29, 29), fill="red")
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    return _save(path, image, exif=exif)


def make_hostile_files(root: Path) -> dict[str, Path]:
    """Files that must be reported as failures, and entries that must be skipped quietly.

    Reported (see HOSTILE_REASONS): empty, text, html, random, truncated, header_only, bomb.
    Skipped: dangling (symlink), loop (symlink to its own folder), loop_file (a.jpg → b.jpg →
    a.jpg), fifo. `folder` is a folder named like an image; `inside` is a photo in it.
    """
    root.mkdir(parents=True, exist_ok=True)
    jpeg = io.BytesIO()
    photo_image(9, (256, 192)).save(jpeg, "JPEG", quality=95)
    files = {
        "empty": b"",
        "text": b"shopping list: milk, eggs\n",
        "html": b"<!doctype html><html><body>Not found</body></html>\n",
        "random": random.Random(0).randbytes(4096),
        "truncated": jpeg.getvalue()[: len(jpeg.getvalue()) // 2],
        "header_only": png_bytes(10, 10, with_data=False),
        "bomb": png_bytes(100_000, 100_000, with_data=True),
    }
    names = {
        "empty": "empty.jpg",
        "text": "notes.jpg",
        "html": "page.png",
        "random": "noise.jpg",
        "truncated": "truncated.jpg",
        "header_only": "header-only.png",
        "bomb": "bomb.png",
    }
    hostile = {}
    for key, data in files.items():
        hostile[key] = root / names[key]
        hostile[key].write_bytes(data)
    hostile["dangling"] = _symlink(root / "dangling.jpg", "does-not-exist.jpg")
    hostile["loop"] = _symlink(root / "loop", ".")
    hostile["loop_file"] = _symlink(root / "loop-a.jpg", "loop-b.jpg")
    _symlink(root / "loop-b.jpg", "loop-a.jpg")
    hostile["fifo"] = root / "pipe.jpg"
    os.mkfifo(hostile["fifo"])
    hostile["folder"] = root / "folder.jpg"
    hostile["folder"].mkdir()
    hostile["inside"] = write_photo(hostile["folder"] / "inside.jpg", 10)
    return hostile


def make_skipped_files(root: Path) -> list[Path]:
    """Photos in hidden and system folders, hidden files, and non-image types: never indexed."""
    paths = []
    for folder in (".hidden", "@eaDir", "$RECYCLE.BIN", ".git", "lost+found"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        paths.append(write_photo(root / folder / "photo.jpg", 11))
    root.mkdir(parents=True, exist_ok=True)
    paths.append(write_photo(root / "._apple-double.jpg", 12))
    notes = root / "notes.txt"
    notes.write_text("not a photo")
    paths.append(notes)
    return paths


def png_bytes(width: int, height: int, with_data: bool) -> bytes:
    """A PNG that claims width × height: header only, or with a tiny data chunk and an end."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if with_data:
        png += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return png


def _symlink(link: Path, target: str) -> Path:
    os.symlink(target, link)
    return link


def tree_digest(root: Path) -> str:
    """A hash of everything under root: names, types, modes, bytes, mtimes, link targets."""
    digest = hashlib.blake2b()
    base = os.fsencode(root)
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            info = os.lstat(path)
            digest.update(os.path.relpath(path, base) + b"\0")
            digest.update(f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}".encode())
            if os.path.islink(path):
                digest.update(os.readlink(path))
            elif os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    return digest.hexdigest()
