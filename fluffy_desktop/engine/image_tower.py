"""CLIP's vision transformer and its image preprocessing, as plain torch over the weights.

open_clip builds the same tower, but importing open_clip imports torchvision (whose ops import
torch._dynamo) and timm: 2.3 s on 2 cores, paid by every fresh process that encodes a photo
(a first `fluffy confirm`, `learn` or `locate`). This module computes what open_clip's
`encode_image` and its evaluation preprocessing compute for the plain class-token ViT; the
tests hold the two equal on tiny models of each variant it computes. Any other image side is
refused with NotPlainImageTower, and ClipModel then builds open_clip's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fluffy_desktop.engine.blocks import (
    Blocks,
    Shapes,
    activation,
    block_shapes,
    checked_weights,
    layer_norm,
    norm_eps,
    odd_settings,
)

# CLIPVisionCfg fields the plain tower may set to any value; every other field must keep its
# default, which is off (False, None or 0).
_FREE = {
    "image_size",
    "patch_size",
    "width",
    "layers",
    "head_width",
    "mlp_ratio",
    "patch_dropout",  # training only
    "attn_pooler_queries",
    "attn_pooler_heads",
    "act_kwargs",
    "norm_kwargs",
    "timm_pool",
    "timm_proj",
    "output_tokens",
}
_REQUIRED = {"pool_type": ("tok",), "pos_embed_type": ("learnable", "sin_cos_2d")}
_VIT_DEFAULTS = {
    "image_size": 224,
    "patch_size": 16,
    "width": 768,
    "layers": 12,
    "head_width": 64,
    "mlp_ratio": 4.0,
}
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
_RESAMPLING = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


class NotPlainImageTower(ValueError):
    """The config describes an image side this module does not compute."""


def _square_side(size: Any) -> int:
    """A square's side, given as a number or as (height, width); NotPlainImageTower if not
    square."""
    if isinstance(size, tuple | list):
        if len(set(size)) != 1:
            raise NotPlainImageTower(f"its images are not square ({size})")
        return int(size[0])
    return int(size)


def plain_vision_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The vision_cfg of an open_clip model config, with CLIP's defaults filled in.

    NotPlainImageTower when the model has another kind of image tower (a ResNet, a timm
    model, attention pooling, layer scale, …)."""
    vision = {**_VIT_DEFAULTS, **config.get("vision_cfg", {})}
    odd = odd_settings(config, vision, _FREE, _REQUIRED)
    if isinstance(vision["layers"], tuple | list):
        odd.append("layers")
    if odd:
        raise NotPlainImageTower(f"its image tower is not a plain ViT ({', '.join(sorted(odd))})")
    for key in ("image_size", "patch_size"):
        _square_side(vision[key])  # NotPlainImageTower when not square
    return vision


@dataclass(frozen=True)
class PixelRecipe:
    """open_clip's evaluation preprocessing: the shorter side resized to `side`, the centre
    square cut out, then normalised per channel (torchvision's Resize, CenterCrop, ToTensor
    and Normalize on a PIL image, step for step)."""

    side: int
    mean: tuple[float, ...] = OPENAI_MEAN
    std: tuple[float, ...] = OPENAI_STD
    resample: Image.Resampling = Image.Resampling.BICUBIC

    def __call__(self, image: Image.Image) -> torch.Tensor:
        width, height = image.size
        short, long = sorted((width, height))
        scaled = (self.side, int(self.side * long / short))
        size = scaled if width <= height else scaled[::-1]
        if size != image.size:
            image = image.resize(size, self.resample)
        left = round((size[0] - self.side) / 2.0)
        top = round((size[1] - self.side) / 2.0)
        image = image.crop((left, top, left + self.side, top + self.side)).convert("RGB")
        pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
        return self.normalise(pixels.float().div(255))

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """(3, h, w) values in [0, 1] → the model's input scale."""
        mean = torch.tensor(self.mean, dtype=pixels.dtype)[:, None, None]
        std = torch.tensor(self.std, dtype=pixels.dtype)[:, None, None]
        return (pixels - mean) / std


def pixel_recipe(config: Mapping[str, Any], tag_stats: Mapping[str, Any]) -> PixelRecipe:
    """The preprocessing open_clip gives a model: its config's preprocess_cfg, then a
    pretrained tag's own statistics (mean, std, interpolation); NotPlainImageTower when it
    resizes another way than by the shorter side."""
    wanted = {**config.get("preprocess_cfg", {}), **tag_stats}
    side = _square_side(plain_vision_config(config)["image_size"])
    if wanted.get("resize_mode", "shortest") != "shortest":
        raise NotPlainImageTower(f"its photos are resized by {wanted['resize_mode']}")
    if wanted.get("mode", "RGB") != "RGB" or _square_side(wanted.get("size", side)) != side:
        raise NotPlainImageTower("its photos are preprocessed to another size or mode")
    resample = _RESAMPLING.get(wanted.get("interpolation") or "bicubic")
    if resample is None:
        raise NotPlainImageTower(f"its photos are resized with {wanted['interpolation']}")
    return PixelRecipe(
        side=side,
        mean=tuple(wanted.get("mean") or OPENAI_MEAN),
        std=tuple(wanted.get("std") or OPENAI_STD),
        resample=resample,
    )


def _expected_shapes(vision: Mapping[str, Any], embed_dim: int) -> Shapes:
    """Every tensor the tower reads, by its open_clip state-dict key, with its shape."""
    width, patch = int(vision["width"]), _square_side(vision["patch_size"])
    grid = _square_side(vision["image_size"]) // patch
    hidden = int(width * float(vision["mlp_ratio"]))
    shapes: Shapes = {
        "visual.conv1.weight": (width, 3, patch, patch),
        "visual.class_embedding": (width,),
        "visual.positional_embedding": (grid * grid + 1, width),
        "visual.ln_pre.weight": (width,),
        "visual.ln_pre.bias": (width,),
        **block_shapes("visual.transformer.resblocks.", int(vision["layers"]), width, hidden),
        "visual.ln_post.weight": (width,),
        "visual.ln_post.bias": (width,),
        "visual.proj": (width, embed_dim),
    }
    return shapes


class ImageTower:
    """The frozen image tower of an open_clip CLIP (a class-token ViT), from its weights."""

    def __init__(
        self,
        config: Mapping[str, Any],
        state: Mapping[str, torch.Tensor],
        device: torch.device,
        recipe: PixelRecipe,
    ):
        """ValueError when state does not hold the tower config describes."""
        vision = plain_vision_config(config)
        self.width, self.patch_side = int(vision["width"]), _square_side(vision["patch_size"])
        self.image_size, self.recipe = _square_side(vision["image_size"]), recipe
        self.eps = norm_eps(vision)
        self._w = checked_weights(state, _expected_shapes(vision, int(config["embed_dim"])), device)
        sizes = (int(vision["layers"]), self.width, self.width // int(vision["head_width"]))
        act = activation(vision, bool(config.get("quick_gelu")))
        self.blocks = Blocks(self._w, "visual.transformer.resblocks.", sizes, self.eps, act)

    def weight(self, name: str) -> torch.Tensor:
        """One of the tower's tensors outside its blocks (ln_post.weight, proj, …)."""
        return self._w[f"visual.{name}"]

    def norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return layer_norm(x, self._w, f"visual.{name}", self.eps)

    def tokens(self, pixels: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """The class token and the patches, position-embedded and normalised, ready for the
        blocks: (batch, 1 + patches, width). positions: the table for a grid other than the
        trained square (see patches)."""
        x = F.conv2d(pixels, self.weight("conv1.weight"), stride=self.patch_side)
        x = x.flatten(2).transpose(1, 2)
        first = self.weight("class_embedding").expand(x.shape[0], 1, -1)
        table = self.weight("positional_embedding") if positions is None else positions
        return self.norm(torch.cat([first.to(x.dtype), x], dim=1) + table, "ln_pre")

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """Unnormalised features of a preprocessed batch (batch, 3, side, side)."""
        x = self.blocks.run(self.tokens(pixels))
        return self.norm(x[:, 0], "ln_post") @ self.weight("proj")
