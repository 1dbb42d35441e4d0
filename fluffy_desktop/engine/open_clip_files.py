"""What the text side reads from the open_clip package without importing it: architecture
configs and the CLIP tokenizer.

Importing open_clip imports torchvision and timm for its image side (1.7 s on 2 cores), which
a search never needs. Its configs are JSON files in its package folder, and its tokenizer
module imports only torch, ftfy and regex, so that file is loaded on its own under a private
module name (the tests hold its tokens equal to open_clip.get_tokenizer's).
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from fluffy_desktop.engine.errors import ModelUnavailable

Tokenizer = Callable[[list[str]], torch.Tensor]
_TOKENIZER_MODULE = "fluffy_desktop.engine._open_clip_tokenizer"


@functools.cache
def _package_folder() -> Path:
    found = importlib.util.find_spec("open_clip")
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailable("open_clip is not installed: reinstall Fluffy")
    return Path(next(iter(found.submodule_search_locations)))


def arch_config(arch: str) -> tuple[str, dict[str, Any]]:
    """(name, config) of an architecture: a path to a config .json, or the name of one of
    open_clip's own configs."""
    if arch.endswith(".json"):
        path = Path(arch)
        if not path.is_file():
            raise ModelUnavailable(f"model config {arch} does not exist")
        name = path.stem
    else:
        path, name = _package_folder() / "model_configs" / f"{arch}.json", arch
        if not path.is_file():
            raise ModelUnavailable(
                f"unknown model {arch!r}: see `python -m open_clip --list-models`"
            )
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"model config {path} cannot be read: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("embed_dim"), int):
        raise ModelUnavailable(f"model config {path} is not an open_clip model config")
    return name, config


@functools.cache
def _tokenizer_module() -> ModuleType:
    """open_clip's tokenizer module, its file loaded alone."""
    spec = importlib.util.spec_from_file_location(
        _TOKENIZER_MODULE, _package_folder() / "tokenizer.py"
    )
    if spec is None or spec.loader is None:
        raise ModelUnavailable("open_clip's tokenizer cannot be found: reinstall Fluffy")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clip_tokenizer(name: str, config: dict[str, Any]) -> Tokenizer:
    """The tokenizer open_clip gives this architecture, when it is CLIP's own BPE tokenizer."""
    text = config.get("text_cfg", {})
    if text.get("hf_tokenizer_name") or "siglip" in name.lower():
        raise ModelUnavailable(f"{name} uses another tokenizer than CLIP's; try ViT-B-32")
    module = _tokenizer_module()
    context = text.get("context_length", module.DEFAULT_CONTEXT_LENGTH)
    tokenizer: Tokenizer = module.SimpleTokenizer(
        context_length=context, **text.get("tokenizer_kwargs", {})
    )
    return tokenizer
