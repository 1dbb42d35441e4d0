"""Safe decoding: odd but valid photos come out upright RGB; hostile files come out as reasons."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from PIL import Image

from fluffy_desktop.engine.images import (
    IMAGE_SUFFIXES,
    DecodedPhoto,
    DecodeFailure,
    decode_photo,
    is_image_name,
    load_display_image,
    taken_at,
)
from tests.photos import (
    EXIF_IFD,
    HOSTILE_REASONS,
    exif_date,
    make_hostile_files,
    make_odd_images,
    png_bytes,
    write_photo,
)


@pytest.fixture(scope="module")
def odd(tmp_path_factory) -> dict[str, Path]:
    return make_odd_images(tmp_path_factory.mktemp("odd"))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    return make_hostile_files(tmp_path_factory.mktemp("hostile"))


def decoded(path: Path, min_side: int = 224) -> Image.Image:
    result = decode_photo(path, min_side)
    assert isinstance(result, DecodedPhoto), result
    assert result.image.mode == "RGB"
    return result.image


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_image_names_are_recognised_in_any_case():
    assert is_image_name("IMG_0001.JPG") and is_image_name("holiday.jpeg")
    assert is_image_name("Scan.TIFF") and is_image_name("x.webp")
    assert not is_image_name("notes.txt") and not is_image_name(".jpg")
    assert not is_image_name("jpg") and not is_image_name("movie.mp4")
    assert is_image_name("IMG_0002.HEIC") and ".heic" in IMAGE_SUFFIXES


def test_every_odd_image_decodes_to_rgb(odd):
    for name, path in odd.items():
        assert isinstance(decode_photo(path), DecodedPhoto), name


def test_colour_modes_are_converted_faithfully(odd):
    assert near(decoded(odd["cmyk"]).getpixel((5, 5)), (255, 0, 0))
    grey = decoded(odd["gray16"]).getpixel((5, 5))
    assert near(grey, (128, 128, 128), 8), "16-bit grey must be scaled, not clipped to white"
    palette = decoded(odd["palette"])
    assert palette.getpixel((5, 5)) == (255, 255, 255), "transparent pixels go on white"
    assert near(palette.getpixel((30, 5)), (0, 0, 255))
    assert decoded(odd["rgba"]).getpixel((5, 5)) == (255, 255, 255)
    assert near(decoded(odd["animated"]).getpixel((5, 5)), (255, 0, 0)), "first frame"


def test_exif_orientation_is_applied(odd):
    image = decoded(odd["rotated"])
    assert image.size == (30, 60)
    assert near(image.getpixel((15, 5)), (255, 0, 0))
    assert near(image.getpixel((15, 55)), (0, 0, 255))
    shown = load_display_image(odd["rotated"], 20)
    assert isinstance(shown, Image.Image) and shown.size == (10, 20)


def test_extreme_sizes(odd):
    assert decoded(odd["one_pixel"]).size == (1, 1)
    panorama = decoded(odd["panorama"])
    assert panorama.height == 40 and panorama.width <= 4 * 40
    thumb = load_display_image(odd["panorama"], 256)
    assert isinstance(thumb, Image.Image) and thumb.size == (256, 1)


def test_large_jpeg_is_draft_decoded_near_the_model_size(tmp_path):
    path = write_photo(tmp_path / "big.jpg", 1, size=(2400, 1800))
    image = decoded(path, min_side=224)
    assert 224 <= min(image.size) < 448
    assert abs(image.width / image.height - 4 / 3) < 0.02
    assert decoded(write_photo(tmp_path / "small.jpg", 2), 224).size == (64, 48), "no upscaling"


def test_capture_date_from_exif(tmp_path):
    dated = decode_photo(write_photo(tmp_path / "a.jpg", 1, taken=exif_date(3)))
    assert dated.taken == "2020-01-04T12:03:00"
    assert decode_photo(write_photo(tmp_path / "b.jpg", 2)).taken is None
    fallback = Image.Exif()
    fallback[306] = "2019:07:14 08:30:00"  # DateTime, no DateTimeOriginal
    Image.new("RGB", (8, 8)).save(tmp_path / "c.jpg", exif=fallback)
    assert decode_photo(tmp_path / "c.jpg").taken == "2019-07-14T08:30:00"
    broken = Image.Exif()
    broken.get_ifd(EXIF_IFD)[36867] = "0000:00:00 00:00:00"
    Image.new("RGB", (8, 8)).save(tmp_path / "d.jpg", exif=broken)
    assert decode_photo(tmp_path / "d.jpg").taken is None


@pytest.mark.reliability
def test_hostile_files_are_failures_with_reasons(hostile):
    for name, reason in HOSTILE_REASONS.items():
        result = decode_photo(hostile[name])
        assert isinstance(result, DecodeFailure), name
        assert (result.path, result.reason) == (hostile[name], reason)
        assert isinstance(load_display_image(hostile[name], 64), DecodeFailure), name
    for name in ("dangling", "loop_file", "fifo", "folder"):
        assert isinstance(decode_photo(hostile[name]), DecodeFailure), name


@pytest.mark.reliability
def test_a_date_read_without_decoding_is_none_for_any_hostile_file(hostile, tmp_path):
    assert taken_at(write_photo(tmp_path / "a.jpg", 1, taken=exif_date(3))) == (
        "2020-01-04T12:03:00"
    )
    assert taken_at(write_photo(tmp_path / "b.jpg", 2)) is None
    for name, path in hostile.items():  # the fifo and the bomb among them: no hang, no raise
        if name != "inside":
            assert taken_at(path) is None, name


@pytest.mark.reliability
def test_bomb_is_a_failure_even_when_warnings_are_errors(tmp_path):
    path = tmp_path / "just-over.png"
    path.write_bytes(png_bytes(15_000, 15_000, with_data=True))  # 225 MP: PIL only warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = decode_photo(path)
    assert isinstance(result, DecodeFailure)
    assert result.reason == "too large (decompression bomb)"


def test_missing_file_is_a_failure(tmp_path):
    result = decode_photo(tmp_path / "gone.jpg")
    assert isinstance(result, DecodeFailure) and result.reason == "file not found"
