"""Per-patch embeddings from the frozen vision tower: what each patch adds to the photo's vector.

A ViT's photo vector is its class token after the last block. Every attention layer writes
into that token a sum over patches: attention weight × the patch's value, through the output
projection. Taking each patch's share of those sums, over all layers, and carrying it through
`ln_post` (linear once the class token's own scale is fixed) and `proj` gives one vector per
patch in the joint space, comparable with text vectors. This is the direct-effect
decomposition of Gandelsman et al. ("Interpreting CLIP's image representation via text
decomposition", ICLR 2024). On the semantic test world it outlines things far better than the
value path of the last block alone (MaskCLIP) or self-self attention (ClearCLIP, SCLIP), whose
patch vectors there score the object *below* its background.

Photos are fed at a chosen size with the position embeddings interpolated, so one pass sees
more patches than the model was trained on (the refinement step of MaskCLIP and SCLIP).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.errors import ModelUnavailable


def _normalise_stats(clip: ClipModel) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and std the model's own preprocessing normalises pixels with."""
    for step in getattr(clip.preprocess, "transforms", []):
        if hasattr(step, "mean") and hasattr(step, "std"):
            return torch.tensor(step.mean)[:, None, None], torch.tensor(step.std)[:, None, None]
    raise ModelUnavailable(f"{clip.arch}: cannot find its pixel normalisation")


def _pixels(clip: ClipModel, image: Image.Image, short: int) -> tuple[torch.Tensor, int, int]:
    """The photo resized so its shorter side is about `short` (whole patches), normalised;
    with the patch grid's rows and columns."""
    patch = clip.patch_side
    width, height = image.size
    scale = short / min(width, height)
    cols = max(1, round(width * scale / patch))
    rows = max(1, round(height * scale / patch))
    resized = image.convert("RGB").resize((cols * patch, rows * patch), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean, std = _normalise_stats(clip)
    return ((pixels - mean) / std)[None], rows, cols


def _positions(visual: Any, rows: int, cols: int) -> torch.Tensor:
    """Position embeddings for a rows × cols grid (bicubic from the trained square grid)."""
    table: torch.Tensor = visual.positional_embedding
    first, grid = table[:1], table[1:]
    side = math.isqrt(grid.shape[0])
    if (rows, cols) == (side, side):
        return table
    square = grid.reshape(1, side, side, -1).permute(0, 3, 1, 2)
    scaled = F.interpolate(square, size=(rows, cols), mode="bicubic", align_corners=False)
    return torch.cat([first, scaled.permute(0, 2, 3, 1).reshape(rows * cols, -1)])


def _block_shares(block: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run one residual block; also return each patch's share of what its attention writes
    into the class token (patches × width)."""
    attention = block.attn
    if not isinstance(attention, torch.nn.MultiheadAttention):
        raise ModelUnavailable("locating needs a ViT with standard attention blocks")
    heads = attention.num_heads
    q, k, v = F.linear(block.ln_1(x), attention.in_proj_weight, attention.in_proj_bias).chunk(3, -1)
    per_head = q.shape[-1] // heads

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(t.shape[0], -1, heads, per_head).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    weights = torch.softmax(q @ k.transpose(-1, -2) * per_head**-0.5, dim=-1)
    mixed = (weights @ v).transpose(1, 2).reshape(x.shape)
    x = x + block.ls_1(attention.out_proj(mixed))
    x = x + block.ls_2(block.mlp(block.ln_2(x)))
    to_class = weights[0, :, 0, 1:, None] * v[0, :, 1:]  # heads × patches × per_head
    shares = to_class.transpose(0, 1).reshape(to_class.shape[1], -1)
    return x, block.ls_1(shares @ attention.out_proj.weight.T)


@torch.inference_mode()
def patch_embeddings(clip: ClipModel, image: Image.Image, short: int) -> np.ndarray:
    """rows × cols × dim: each patch's direct contribution to the photo vector, in the joint
    space (not normalised: a patch that adds nothing is near zero)."""
    visual = clip.model.visual
    if not getattr(visual.transformer, "batch_first", True) or visual.attn_pool is not None:
        raise ModelUnavailable(f"{clip.arch}: locating needs a class-token ViT")
    pixels, rows, cols = _pixels(clip, image, short)
    x = visual.conv1(pixels.to(clip.device, visual.conv1.weight.dtype))
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([visual.class_embedding.reshape(1, 1, -1).to(x.dtype), x], dim=1)
    x = visual.ln_pre(x + _positions(visual, rows, cols).to(x.dtype))
    total = torch.zeros(rows * cols, x.shape[-1], device=x.device, dtype=x.dtype)
    for block in visual.transformer.resblocks:
        x, shares = _block_shares(block, x)
        total += shares
    scale = x[0, 0].float().std(unbiased=False) + visual.ln_post.eps
    centred = (total - total.mean(-1, keepdim=True)).float() / scale
    joint = (centred * visual.ln_post.weight.float()) @ visual.proj.float()
    result: np.ndarray = joint.reshape(rows, cols, -1).cpu().numpy()
    return result
