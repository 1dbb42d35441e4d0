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

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fluffy_desktop.engine.blocks import Blocks
from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.image_tower import ImageTower


def _pixels(tower: ImageTower, image: Image.Image, short: int) -> tuple[torch.Tensor, int, int]:
    """The photo resized so its shorter side is about `short` (whole patches), normalised;
    with the patch grid's rows and columns."""
    patch = tower.patch_side
    width, height = image.size
    scale = short / min(width, height)
    cols = max(1, round(width * scale / patch))
    rows = max(1, round(height * scale / patch))
    resized = image.convert("RGB").resize((cols * patch, rows * patch), Image.Resampling.BICUBIC)
    pixels = torch.from_numpy(np.asarray(resized, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return tower.recipe.normalise(pixels)[None], rows, cols


def _positions(tower: ImageTower, rows: int, cols: int) -> torch.Tensor:
    """Position embeddings for a rows × cols grid (bicubic from the trained square grid)."""
    table = tower.weight("positional_embedding")
    first, grid = table[:1], table[1:]
    side = math.isqrt(grid.shape[0])
    if (rows, cols) == (side, side):
        return table
    square = grid.reshape(1, side, side, -1).permute(0, 3, 1, 2)
    scaled = F.interpolate(square, size=(rows, cols), mode="bicubic", align_corners=False)
    return torch.cat([first, scaled.permute(0, 2, 3, 1).reshape(rows * cols, -1)])


def _block_shares(blocks: Blocks, block: int, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Run one residual block; also return each patch's share of what its attention writes
    into the class token (patches × width)."""
    q, k, v = blocks.heads_qkv(x, block)
    weights = torch.softmax(q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5, dim=-1)
    x = blocks.finish(x, weights @ v, block)
    to_class = weights[0, :, 0, 1:, None] * v[0, :, 1:]  # heads × patches × per_head
    shares = to_class.transpose(0, 1).reshape(to_class.shape[1], -1)
    return x, shares @ blocks.weight(block, "attn.out_proj.weight").T


@torch.inference_mode()
def patch_embeddings(clip: ClipModel, image: Image.Image, short: int) -> np.ndarray:
    """rows × cols × dim: each patch's direct contribution to the photo vector, in the joint
    space (not normalised: a patch that adds nothing is near zero)."""
    tower = clip.image_tower
    pixels, rows, cols = _pixels(tower, image, short)
    x = tower.tokens(pixels.to(clip.device), _positions(tower, rows, cols))
    total = torch.zeros(rows * cols, x.shape[-1], device=x.device, dtype=x.dtype)
    for block in range(tower.blocks.layers):
        x, shares = _block_shares(tower.blocks, block, x)
        total += shares
    scale = x[0, 0].float().std(unbiased=False) + tower.eps
    centred = (total - total.mean(-1, keepdim=True)).float() / scale
    joint = (centred * tower.weight("ln_post.weight")) @ tower.weight("proj")
    result: np.ndarray = joint.reshape(rows, cols, -1).cpu().numpy()
    return result
