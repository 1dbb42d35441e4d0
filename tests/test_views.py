"""The views a concept learns from: drawn per photo, so kept views equal fresh ones."""

from __future__ import annotations

import torch

from fluffy_desktop.engine.concepts.learn import LearnSettings
from fluffy_desktop.engine.concepts.views import ViewCache, ViewPhoto, encode_views
from tests.test_learn import photo

SETTINGS = LearnSettings()
PER_PHOTO = SETTINGS.augmentations + 1


def counting(monkeypatch, clip) -> list[int]:
    """Record how many images each call to the model's image encoder gets."""
    calls: list[int] = []
    real = clip.encode_images

    def encode_images(images):
        calls.append(len(images))
        return real(images)

    monkeypatch.setattr(clip, "encode_images", encode_images)
    return calls


def view_photo(key: str, seed: int, stamp: int = 0) -> ViewPhoto:
    return ViewPhoto(key, lambda: photo("fluffy", seed), stamp)


def test_a_photos_views_depend_on_its_key_not_on_the_other_photos(tiny_clip):
    a, b = photo("fluffy", 0), photo("rex", 1)
    together = encode_views(tiny_clip, [a, b], ["a", "b"], SETTINGS)
    alone = encode_views(tiny_clip, [b], ["b"], SETTINGS)
    renamed = encode_views(tiny_clip, [b], ["c"], SETTINGS)
    assert torch.allclose(together[PER_PHOTO:], alone, atol=1e-5)  # batching rounds apart
    assert not torch.allclose(renamed[1:], alone[1:])  # other crops
    assert torch.allclose(renamed[0], alone[0], atol=1e-5)  # the photo itself comes first


def test_kept_views_equal_fresh_ones_and_only_new_photos_are_encoded(tiny_clip, monkeypatch):
    cache = ViewCache()
    calls = counting(monkeypatch, tiny_clip)
    first = [view_photo("a", 0), view_photo("b", 1)]
    cache.views(tiny_clip, first, SETTINGS)
    assert sum(calls) == 2 * PER_PHOTO
    calls.clear()
    kept = cache.views(tiny_clip, [view_photo("c", 2), *first], SETTINGS)
    assert sum(calls) == PER_PHOTO
    images = [photo("fluffy", seed) for seed in (2, 0, 1)]
    fresh = encode_views(tiny_clip, images, ["c", "a", "b"], SETTINGS)
    assert torch.allclose(kept, fresh, atol=1e-5)


def test_an_edited_photo_another_seed_or_a_full_cache_encodes_again(tiny_clip, monkeypatch):
    cache = ViewCache(limit=2)
    calls = counting(monkeypatch, tiny_clip)
    cache.views(tiny_clip, [view_photo("a", 0), view_photo("b", 1)], SETTINGS)
    calls.clear()
    cache.views(tiny_clip, [view_photo("a", 0, stamp=1)], SETTINGS)  # edited: "b" is let go
    cache.views(tiny_clip, [view_photo("a", 0)], LearnSettings(seed=1))
    cache.views(tiny_clip, [view_photo("b", 1)], SETTINGS)
    assert calls == [PER_PHOTO] * 3
    assert cache.views(tiny_clip, [], SETTINGS).shape == (0, tiny_clip.dim)


def test_views_kept_on_disk_serve_the_next_start_and_a_damaged_file_is_ignored(
    tiny_clip, tmp_path, monkeypatch
):
    calls = counting(monkeypatch, tiny_clip)
    photos = [view_photo("a", 0), view_photo("b", 1)]
    first = ViewCache(tmp_path).views(tiny_clip, photos, SETTINGS)
    calls.clear()
    again = ViewCache(tmp_path).views(tiny_clip, photos, SETTINGS)  # a restart
    assert calls == [] and torch.equal(first, again)
    (file,) = tmp_path.iterdir()
    file.write_bytes(b"not a safetensors file")
    ViewCache(tmp_path).views(tiny_clip, photos, SETTINGS)
    assert calls == [2 * PER_PHOTO]  # encoded again, and the file written anew
    ViewCache(tmp_path).views(tiny_clip, photos, SETTINGS)
    assert calls == [2 * PER_PHOTO]
