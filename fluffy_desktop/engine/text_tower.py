"""CLIP's text transformer as plain torch arithmetic over the weights file's own tensors.

open_clip builds the same tower, but importing open_clip imports torchvision and timm (1.7 s
of a cold start on 2 cores) for the image side, which a search does not need. This module
computes what open_clip's `CLIP.encode_text` computes for the plain text tower (pre-norm
blocks, causal mask, end-of-text pooling, linear projection); the tests hold the two equal
on a tiny model of each variant it computes. Any other tower is refused with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

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
_REQUIRED = {"pool_type": "argmax", "proj_type": "linear"}
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
    odd = [key for key in ("custom_text", "multimodal_cfg") if config.get(key)]
    odd += [key for key, value in _REQUIRED.items() if text.get(key, value) != value]
    odd += [key for key, value in text.items() if key not in _FREE | _REQUIRED.keys() and value]
    if odd:
        raise NotPlainTextTower(f"its text tower is not CLIP's own ({', '.join(sorted(odd))})")
    return {**_CLIP_DEFAULTS, **text}


Activation = Callable[[torch.Tensor], torch.Tensor]


def _activation(text: Mapping[str, Any], quick_gelu: bool) -> Activation:
    if quick_gelu:
        return lambda x: x * torch.sigmoid(1.702 * x)
    kwargs = dict(text.get("act_kwargs") or {})
    return lambda x: F.gelu(x, **kwargs)


def _expected_shapes(text: Mapping[str, Any], embed_dim: int) -> dict[str, tuple[int, ...]]:
    """Every tensor the tower reads, by its open_clip state-dict key, with its shape."""
    width, hidden = int(text["width"]), int(int(text["width"]) * float(text["mlp_ratio"]))
    shapes: dict[str, tuple[int, ...]] = {
        "token_embedding.weight": (int(text["vocab_size"]), width),
        "positional_embedding": (int(text["context_length"]), width),
        "ln_final.weight": (width,),
        "ln_final.bias": (width,),
    }
    for block in range(int(text["layers"])):
        prefix = f"transformer.resblocks.{block}."
        for norm in ("ln_1", "ln_2"):
            shapes[f"{prefix}{norm}.weight"] = shapes[f"{prefix}{norm}.bias"] = (width,)
        shapes[f"{prefix}attn.in_proj_weight"] = (3 * width, width)
        shapes[f"{prefix}attn.in_proj_bias"] = (3 * width,)
        shapes[f"{prefix}attn.out_proj.weight"] = (width, width)
        shapes[f"{prefix}attn.out_proj.bias"] = (width,)
        shapes[f"{prefix}mlp.c_fc.weight"] = (hidden, width)
        shapes[f"{prefix}mlp.c_fc.bias"] = (hidden,)
        shapes[f"{prefix}mlp.c_proj.weight"] = (width, hidden)
        shapes[f"{prefix}mlp.c_proj.bias"] = (width,)
    if text.get("proj_bias"):
        shapes["text_projection.weight"] = (embed_dim, width)
        shapes["text_projection.bias"] = (embed_dim,)
    else:
        shapes["text_projection"] = (width, embed_dim)
    return shapes


def _text_weights(
    state: Mapping[str, torch.Tensor], shapes: Mapping[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """The tower's tensors from state, as float32; ValueError naming the first that is missing
    or of the wrong shape."""
    for key, shape in shapes.items():
        if key not in state:
            raise ValueError(f"no {key}")
        if tuple(state[key].shape) != shape:
            raise ValueError(f"{key} is {tuple(state[key].shape)}, not {shape}")
    return {key: state[key].float() for key in shapes}


class TextTower:
    """The frozen text tower of an open_clip CLIP, computed from its weights."""

    def __init__(
        self,
        config: Mapping[str, Any],
        state: Mapping[str, torch.Tensor],
        device: torch.device,
    ):
        text = plain_text_config(config)
        self.width, self.heads = int(text["width"]), int(text["heads"])
        self.layers = int(text["layers"])
        self.embed_dim = int(config["embed_dim"])
        self._eps = float((text.get("norm_kwargs") or {}).get("eps", 1e-5))
        self._act = _activation(text, bool(config.get("quick_gelu")))
        weights = _text_weights(state, _expected_shapes(text, self.embed_dim))
        self._w = {key: value.to(device) for key, value in weights.items()}
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
        mask = self._mask[:length, :length]
        for block in range(self.layers):
            x = self._block(x, f"transformer.resblocks.{block}.", mask)
        x = self._norm(x, "ln_final")
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        if "text_projection.weight" in w:
            return F.linear(x, w["text_projection.weight"], w["text_projection.bias"])
        return x @ w["text_projection"]

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        weight, bias = self._w[f"{name}.weight"], self._w[f"{name}.bias"]
        return F.layer_norm(x, (self.width,), weight, bias, self._eps)

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.linear(x, self._w[f"{name}.weight"], self._w[f"{name}.bias"])

    def _block(self, x: torch.Tensor, prefix: str, mask: torch.Tensor) -> torch.Tensor:
        x = x + self._attention(self._norm(x, f"{prefix}ln_1"), f"{prefix}attn.", mask)
        hidden = self._act(self._linear(self._norm(x, f"{prefix}ln_2"), f"{prefix}mlp.c_fc"))
        return x + self._linear(hidden, f"{prefix}mlp.c_proj")

    def _attention(self, x: torch.Tensor, prefix: str, mask: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        packed = F.linear(x, self._w[f"{prefix}in_proj_weight"], self._w[f"{prefix}in_proj_bias"])
        q, k, v = (
            part.reshape(batch, length, self.heads, -1).transpose(1, 2)
            for part in packed.chunk(3, dim=-1)
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2)
        return self._linear(out.reshape(batch, length, self.width), f"{prefix}out_proj")
