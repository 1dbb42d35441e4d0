"""The image side without open_clip: the tower and preprocessing equal open_clip's own."""

from __future__ import annotations

import json
import sys

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.image_tower import (
    ImageTower,
    NotPlainImageTower,
    PixelRecipe,
    pixel_recipe,
    plain_vision_config,
)
from fluffy_desktop.engine.weights import hub_pixel_stats
from tests.tinymodel import TINY_CONFIG, tiny_variant, write_tiny_model

# The tower's variants open_clip configs use: QuickGELU, tanh GELU, another LayerNorm eps,
# another MLP width, the fixed sin-cos positions of the semantic world's model (with patch
# dropout, which is off when encoding), and another grid.
VARIANTS = {
    "plain": {},
    "quick_gelu": {"quick_gelu": True},
    "tanh_gelu": {"vision_cfg": {"act_kwargs": {"approximate": "tanh"}}},
    "norm_eps": {"vision_cfg": {"norm_kwargs": {"eps": 1e-6}}},
    "mlp_ratio": {"vision_cfg": {"mlp_ratio": 3.7362}},
    "sin_cos": {"vision_cfg": {"pos_embed_type": "sin_cos_2d", "patch_dropout": 0.5}},
    "grid": {"vision_cfg": {"image_size": [48, 48], "patch_size": 12}},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_tower_encodes_as_open_clip_does(variant, tmp_path):
    config = tiny_variant("vision_cfg", VARIANTS[variant])
    name = f"image-tower-{variant.replace('_', '-')}"
    write_tiny_model(tmp_path, seed=3, config=config, name=name)
    model = open_clip.create_model(name, pretrained=None)
    torch.manual_seed(4)  # open_clip starts some tables at zero; the comparison needs all
    for key, tensor in model.state_dict().items():
        if key.startswith("visual.") and key != "visual.positional_embedding":
            tensor.copy_(torch.randn_like(tensor) * 0.2)
    model.eval()
    recipe = pixel_recipe(config, {})
    tower = ImageTower(config, model.state_dict(), torch.device("cpu"), recipe)
    pixels = torch.randn(3, 3, tower.image_size, tower.image_size)
    with torch.no_grad():
        torch.testing.assert_close(
            tower.encode(pixels), model.encode_image(pixels), atol=2e-5, rtol=1e-4
        )


def _photos() -> list[Image.Image]:
    """Photos of the shapes and modes preprocessing meets: tall, wide, square, smaller than
    the model's side, odd sizes, grey, with alpha, with a palette."""
    rng = np.random.default_rng(5)
    sizes = [(97, 33), (33, 97), (500, 301), (32, 32), (20, 45), (224, 225), (63, 64)]
    photos = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in sizes]
    noise = rng.integers(0, 256, (70, 50, 4), dtype=np.uint8)
    photos += [Image.fromarray(noise[..., :3]).convert("L"), Image.fromarray(noise, "RGBA")]
    return [*photos, Image.fromarray(noise[..., :3]).convert("P")]


@pytest.mark.parametrize(
    "tag_stats",
    [{}, {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "interpolation": "bilinear"}],
    ids=["openai", "other-stats"],
)
def test_preprocessing_equals_open_clips(tag_stats, tmp_path):
    config = tiny_variant("vision_cfg", {"vision_cfg": {"image_size": 32}})
    name = "preprocess-tiny"
    write_tiny_model(tmp_path, config=config, name=name)
    overrides = {f"image_{key}": value for key, value in tag_stats.items()}
    _, _, transform = open_clip.create_model_and_transforms(name, pretrained=None, **overrides)
    recipe = pixel_recipe(config, tag_stats)
    for photo in _photos():
        assert torch.equal(recipe(photo), transform(photo)), (photo.size, photo.mode)


NOT_PLAIN = {
    "layer scale": {"ls_init_value": 0.1},
    "attention pooling": {"attentional_pool": True},
    "average pooling": {"pool_type": "avg"},
    "norm after pooling": {"final_ln_after_pool": True},
    "no norm before": {"no_ln_pre": True},
    "a timm model": {"timm_model_name": "vit_base_patch16_224"},
    "a ResNet": {"layers": [1, 1, 1, 1]},
    "qk norm": {"qk_norm": True},
    "not square": {"image_size": [32, 48]},
}


@pytest.mark.parametrize("change", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_other_image_towers_are_refused_by_name(change):
    config = tiny_variant("vision_cfg", {"vision_cfg": change})
    with pytest.raises(NotPlainImageTower, match=r"not a plain ViT|not square"):
        plain_vision_config(config)


@pytest.mark.parametrize(
    ("preprocess", "message"),
    [({"resize_mode": "squash"}, "squash"), ({"size": 48}, "size"), ({"mode": "L"}, "mode")],
)
def test_another_preprocessing_is_left_to_open_clip(preprocess, message):
    config = tiny_variant("vision_cfg", {"preprocess_cfg": preprocess})
    with pytest.raises(NotPlainImageTower, match=message):
        pixel_recipe(config, {})
    assert pixel_recipe(TINY_CONFIG, {}) == PixelRecipe(side=32)


def test_a_tags_pixel_statistics_are_looked_up_once(tmp_path, monkeypatch):
    """The first lookup reads open_clip's table; later starts read the home's record, so a
    photo is encoded without importing open_clip."""
    stats = hub_pixel_stats("ViT-B-32", "laion2b_s34b_b79k", tmp_path)
    assert stats["resize_mode"] == "shortest" and stats["interpolation"] == "bicubic"
    assert tuple(stats["mean"]) == open_clip.OPENAI_DATASET_MEAN
    monkeypatch.setitem(sys.modules, "open_clip", None)  # any import of it now fails
    assert hub_pixel_stats("ViT-B-32", "laion2b_s34b_b79k", tmp_path) == stats


def test_a_damaged_record_of_pixel_statistics_is_looked_up_again(tmp_path):
    stats = hub_pixel_stats("ViT-B-32", "laion2b_s34b_b79k", tmp_path)
    record = tmp_path / "downloads" / "hub-pixels.json"
    record.write_text('{"ViT-B-32 laion2b_s34b_b79k": {"mean": "0.5", "std": [1, 2]}}')
    assert hub_pixel_stats("ViT-B-32", "laion2b_s34b_b79k", tmp_path) == stats
    assert json.loads(record.read_text()) == {"ViT-B-32 laion2b_s34b_b79k": stats}


def test_a_photo_is_encoded_without_importing_open_clip(tiny_spec, tmp_path, monkeypatch):
    clip = ClipModel.load(ModelSpec(tiny_spec.arch, None, tiny_spec.weights, "cpu"), tmp_path)
    monkeypatch.setitem(sys.modules, "open_clip", None)  # the image side is built after this
    features = clip.encode_images([Image.new("RGB", (40, 30), "teal")])
    assert features.shape == (1, clip.dim)


@pytest.mark.parametrize("arch", ["ViT-B-32", "ViT-S-16"])
def test_real_architectures_encode_as_open_clip_does(arch):
    """The shipped architecture and another open_clip config, at full size (random weights:
    what is compared is the arithmetic), each photo preprocessed as open_clip does for the
    default tag."""
    torch.manual_seed(6)
    model, _, transform = open_clip.create_model_and_transforms(arch, pretrained=None)
    config = open_clip.get_model_config(arch)
    stats = dict(open_clip.get_pretrained_cfg("ViT-B-32", "laion2b_s34b_b79k"))
    recipe = pixel_recipe(config, {key: stats[key] for key in ("mean", "std", "interpolation")})
    tower = ImageTower(config, model.state_dict(), torch.device("cpu"), recipe)
    photos = _photos()[:3]
    pixels = torch.stack([recipe(photo) for photo in photos])
    assert torch.equal(pixels, torch.stack([transform(photo) for photo in photos]))
    with torch.no_grad():
        ours, theirs = tower.encode(pixels), model.eval().encode_image(pixels)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
