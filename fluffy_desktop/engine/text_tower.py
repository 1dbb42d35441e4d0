"""CLIP's text transformer as plain torch arithmetic over the weights file's own tensors.

open_clip builds the same tower, but importing open_clip imports torchvision and timm (1.7 s
of a cold start on 2 cores) for the image side, which a search does not need. This module
computes what open_clip's `CLIP.encode_text` computes for the plain text tower (pre-norm
blocks, causal mask, end-of-text pooling, linear projection); the tests hold the two equal
on a tiny model of each variant it computes. Any other tower is refused with a one-line message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from fluffy_desktop.engine.blocks import (
    Blocks,
    Shapes,
    activation,
    block_shapes,
    checked_weights,
    layer_norm,
    linear,
    norm_eps,
    odd_settings,
)

# CLIPTextCfg fields the plain tower may set to any value; every other field must keep its
# default, which is off (False or None) except for these two.
_FREE = {
    "context_length",
    "vocab_size",
    "width",
    "heads",
    "layers",
    "mlp_ratio",
    "act_kwargs",
    "norm_kwargs",
    "proj_bias",
    "tokenizer_kwargs",
    "output_tokens",
    "pad_id",
    "eos_id",
}
_REQUIRED = {"pool_type": ("argmax",), "proj_type": ("linear",)}
_CLIP_DEFAULTS = {
    "context_length": 77,
    "vocab_size": 49408,
    "width": 512,
    "heads": 8,
    "layers": 12,
    "mlp_ratio": 4.0,
}


class NotPlainTextTower(ValueError):
    """The config or weights describe a text tower this module does not compute."""


def plain_text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The text_cfg of an open_clip model config, with CLIP's defaults filled in.

    NotPlainTextTower when the model has another kind of text tower (a Hugging Face model,
    attention pooling, layer scale, no causal mask, …)."""
    text = dict(config.get("text_cfg", {}))
    odd = odd_settings(config, text, _FREE, _REQUIRED)
    if odd:
        raise NotPlainTextTower(f"its text tower is not CLIP's own ({', '.join(sorted(odd))})")
    return {**_CLIP_DEFAULTS, **text}


def _expected_shapes(text: Mapping[str, Any], embed_dim: int) -> Shapes:
    """Every tensor the tower reads, by its open_clip state-dict key, with its shape."""
    width, hidden = int(text["width"]), int(int(text["width"]) * float(text["mlp_ratio"]))
    shapes: Shapes = {
        "token_embedding.weight": (int(text["vocab_size"]), width),
        "positional_embedding": (int(text["context_length"]), width),
        "ln_final.weight": (width,),
        "ln_final.bias": (width,),
        **block_shapes("transformer.resblocks.", int(text["layers"]), width, hidden),
    }
    if text.get("proj_bias"):
        shapes["text_projection.weight"] = (embed_dim, width)
        shapes["text_projection.bias"] = (embed_dim,)
    else:
        shapes["text_projection"] = (width, embed_dim)
    return shapes


class TextTower:
    """The frozen text tower of an open_clip CLIP, computed from its weights."""

    def __init__(
        self,
        config: Mapping[str, Any],
        state: Mapping[str, torch.Tensor],
        device: torch.device,
    ):
        text = plain_text_config(config)
        self.width = int(text["width"])
        self.embed_dim = int(config["embed_dim"])
        self._eps = norm_eps(text)
        self._w = checked_weights(state, _expected_shapes(text, self.embed_dim), device)
        sizes = (int(text["layers"]), self.width, int(text["heads"]))
        act = activation(text, bool(config.get("quick_gelu")))
        self._blocks = Blocks(self._w, "transformer.resblocks.", sizes, self._eps, act)
        side = int(text["context_length"])
        self._mask = torch.full((side, side), float("-inf"), device=device).triu_(1)

    @property
    def token_embedding(self) -> torch.Tensor:
        """The vocabulary's input word vectors, one row per token id."""
        return self._w["token_embedding.weight"]

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Input word vectors of token ids (batch, length) → (batch, length, width)."""
        return F.embedding(tokens, self.token_embedding)

    def encode_embedded(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Unnormalised features of input word vectors x, pooled at each row's end-of-text
        token (its largest id in tokens, as in CLIP)."""
        w, length = self._w, x.shape[1]
        x = x + w["positional_embedding"][:length]
        x = self._blocks.run(x, self._mask[:length, :length])
        x = layer_norm(x, w, "ln_final", self._eps)
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        if "text_projection.weight" in w:
            return linear(x, w, "text_projection")
        return x @ w["text_projection"]
