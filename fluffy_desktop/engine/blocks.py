"""The residual attention blocks of CLIP's towers, as plain torch arithmetic over the weights.

open_clip's text and image transformers are the same stack of pre-norm blocks (layer norm,
multi-head attention, layer norm, two-layer MLP); the towers in text_tower and image_tower
both run it through this module, reading the weights file's own tensors by their open_clip
state-dict keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]
Shapes = dict[str, tuple[int, ...]]


def activation(tower: Mapping[str, Any], quick_gelu: bool) -> Activation:
    """The MLP's activation open_clip gives a tower config (QuickGELU or GELU)."""
    if quick_gelu:
        return lambda x: x * torch.sigmoid(1.702 * x)
    kwargs = dict(tower.get("act_kwargs") or {})
    return lambda x: F.gelu(x, **kwargs)


def odd_settings(
    config: Mapping[str, Any],
    tower: Mapping[str, Any],
    free: set[str],
    required: Mapping[str, tuple[Any, ...]],
) -> list[str]:
    """What makes one of a model config's towers other than the plain CLIP one: a custom or
    multimodal model, a required setting (default: the first allowed value) with another
    value, or any setting outside `free` turned on."""
    odd = [key for key in ("custom_text", "multimodal_cfg") if config.get(key)]
    odd += [key for key, allowed in required.items() if tower.get(key, allowed[0]) not in allowed]
    odd += [key for key, value in tower.items() if key not in free | required.keys() and value]
    return odd


def norm_eps(tower: Mapping[str, Any]) -> float:
    return float((tower.get("norm_kwargs") or {}).get("eps", 1e-5))


def layer_norm(
    x: torch.Tensor, w: Mapping[str, torch.Tensor], name: str, eps: float
) -> torch.Tensor:
    """x's layer norm with the weight and bias stored under name in w."""
    return F.layer_norm(x, (x.shape[-1],), w[f"{name}.weight"], w[f"{name}.bias"], eps)


def linear(x: torch.Tensor, w: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    """x through the linear layer whose weight and bias are stored under name in w."""
    return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


def block_shapes(prefix: str, layers: int, width: int, hidden: int) -> Shapes:
    """Every tensor the blocks under prefix read, by state-dict key, with its shape."""
    shapes: Shapes = {}
    for block in range(layers):
        at = f"{prefix}{block}."
        for norm in ("ln_1", "ln_2"):
            shapes[f"{at}{norm}.weight"] = shapes[f"{at}{norm}.bias"] = (width,)
        shapes[f"{at}attn.in_proj_weight"] = (3 * width, width)
        shapes[f"{at}attn.in_proj_bias"] = (3 * width,)
        shapes[f"{at}attn.out_proj.weight"] = (width, width)
        shapes[f"{at}attn.out_proj.bias"] = (width,)
        shapes[f"{at}mlp.c_fc.weight"] = (hidden, width)
        shapes[f"{at}mlp.c_fc.bias"] = (hidden,)
        shapes[f"{at}mlp.c_proj.weight"] = (width, hidden)
        shapes[f"{at}mlp.c_proj.bias"] = (width,)
    return shapes


def checked_weights(
    state: Mapping[str, torch.Tensor], shapes: Shapes, device: torch.device
) -> dict[str, torch.Tensor]:
    """The tensors named in shapes, as float32 on device; ValueError naming the first that is
    missing or of the wrong shape."""
    for key, shape in shapes.items():
        if key not in state:
            raise ValueError(f"no {key}")
        if tuple(state[key].shape) != shape:
            raise ValueError(f"{key} is {tuple(state[key].shape)}, not {shape}")
    return {key: state[key].float().to(device) for key in shapes}


class Blocks:
    """A tower's residual blocks (keys `{prefix}{i}.…`) over weights w."""

    def __init__(
        self,
        w: Mapping[str, torch.Tensor],
        prefix: str,
        sizes: tuple[int, int, int],
        eps: float,
        act: Activation,
    ):
        """sizes: (layers, width, heads)."""
        self._w, self._prefix = w, prefix
        self.layers, self.width, self.heads = sizes
        self._eps, self._act = eps, act

    def weight(self, block: int, name: str) -> torch.Tensor:
        return self._w[f"{self._prefix}{block}.{name}"]

    def norm(self, x: torch.Tensor, block: int, name: str) -> torch.Tensor:
        return layer_norm(x, self._w, f"{self._prefix}{block}.{name}", self._eps)

    def linear(self, x: torch.Tensor, block: int, name: str) -> torch.Tensor:
        return linear(x, self._w, f"{self._prefix}{block}.{name}")

    def run(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (batch, length, width) through every block."""
        for block in range(self.layers):
            q, k, v = self.heads_qkv(x, block)
            mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = self.finish(x, mixed, block)
        return x

    def heads_qkv(self, x: torch.Tensor, block: int) -> tuple[torch.Tensor, ...]:
        """Queries, keys and values of block's attention, each (batch, heads, length, d)."""
        batch, length, _ = x.shape
        normed = self.norm(x, block, "ln_1")
        packed = F.linear(
            normed,
            self.weight(block, "attn.in_proj_weight"),
            self.weight(block, "attn.in_proj_bias"),
        )
        return tuple(
            part.reshape(batch, length, self.heads, -1).transpose(1, 2)
            for part in packed.chunk(3, dim=-1)
        )

    def finish(self, x: torch.Tensor, mixed: torch.Tensor, block: int) -> torch.Tensor:
        """The rest of block: the heads' mixed values (batch, heads, length, d) through the
        output projection into x, then the MLP."""
        batch, length, _ = x.shape
        joined = mixed.transpose(1, 2).reshape(batch, length, self.width)
        x = x + self.linear(joined, block, "attn.out_proj")
        hidden = self._act(self.linear(self.norm(x, block, "ln_2"), block, "mlp.c_fc"))
        return x + self.linear(hidden, block, "mlp.c_proj")
