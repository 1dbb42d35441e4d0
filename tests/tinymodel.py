"""A tiny open_clip checkpoint, generated with a fixed seed, loaded like real weights."""

from __future__ import annotations

import copy
import json
from pathlib import Path

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
# A second tiny model, as after a switch of models: other widths, other seed, other identity.
OTHER_CONFIG = {
    "embed_dim": 24,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 48, "head_width": 24, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 48, "heads": 2, "layers": 2},
}


def tiny_variant(tower: str, change: dict) -> dict:
    """TINY_CONFIG with `change` applied: its `tower` entry ("text_cfg" or "vision_cfg")
    merged into that tower's settings, the rest set at the top level."""
    config = copy.deepcopy(TINY_CONFIG)
    config[tower].update(change.get(tower, {}))
    config.update({k: v for k, v in change.items() if k != tower})
    return config


def write_tiny_model(
    folder: Path, seed: int = 0, config: dict | None = None, name: str = "fluffy-tiny"
) -> tuple[Path, Path]:
    """Write <name>.json and <name>.safetensors (TINY_CONFIG unless another config is given)
    into folder; return both paths."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config_file = folder / f"{name}.json"
    config_file.write_text(json.dumps(config or TINY_CONFIG))
    open_clip.add_model_config(config_file)
    torch.manual_seed(seed)
    model = open_clip.create_model(name, pretrained=None)
    weights = folder / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    return config_file, weights
