"""Where CLIP weights come from: a local file, or the open_clip hub (cached under the home)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import open_clip
import torch
from tqdm.auto import tqdm

from fluffy_desktop.engine.errors import ModelUnavailable, first_line
from fluffy_desktop.engine.tasks import Progress


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file or a plain state dict, never by unpickling objects."""
    if not path.is_file():
        raise ModelUnavailable(
            f"weights file {path} does not exist: pass --weights with an open_clip checkpoint"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = first_line(exc)[:160] or type(exc).__name__
        raise ModelUnavailable(f"cannot read weights file {path}: {reason}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelUnavailable(f"weights file {path} is not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _hub_files(arch: str, tag: str) -> tuple[str, list[str]]:
    """The hub repository of a pretrained tag and its weight files, safest format first."""
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    repo = (cfg or {}).get("hf_hub", "").strip("/")
    if not repo:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise ModelUnavailable(f"no hub weights for {arch} tag {tag!r} (known tags: {known})")
    return repo, ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]


def _hub_address() -> tuple[str, int]:
    """Host and port of the hub endpoint (HF_ENDPOINT overrides huggingface.co)."""
    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def _online(timeout: float = 3.0) -> bool:
    """Whether the hub answers at all: a quick check that spares minutes of retries offline."""
    try:
        socket.create_connection(_hub_address(), timeout=timeout).close()
    except OSError:
        return False
    return True


def _progress_bar(progress: Progress | None) -> type[tqdm]:
    """A tqdm class that also reports to a Fluffy progress callback."""

    class ReportingBar(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            if progress is not None and self.total:
                progress("Downloading model", int(self.n), int(self.total))
            return shown

    return ReportingBar


def cached_hub_weights(arch: str, tag: str, cache_dir: Path) -> Path | None:
    """The weights file of a hub tag when it is already downloaded, else None (no network)."""
    from huggingface_hub import try_to_load_from_cache

    repo, files = _hub_files(arch, tag)
    for name in files:
        found = try_to_load_from_cache(repo, name, cache_dir=str(cache_dir))
        if isinstance(found, str):
            return Path(found)
    return None


def fetch_hub_weights(
    arch: str, tag: str, cache_dir: Path, progress: Progress | None = None
) -> Path:
    """The cached weights file of a hub tag, downloading it (with progress) when not cached."""
    from huggingface_hub import hf_hub_download

    cached = cached_hub_weights(arch, tag, cache_dir)
    if cached is not None:
        return cached
    repo, files = _hub_files(arch, tag)
    if not _online():
        raise ModelUnavailable(
            f"the {arch} weights ({tag}) are not downloaded yet and {_hub_address()[0]} cannot be "
            "reached; connect once, or pass --weights FILE (an open_clip checkpoint)"
        )
    errors = []
    for name in files:
        try:
            return Path(
                hf_hub_download(repo, name, cache_dir=cache_dir, tqdm_class=_progress_bar(progress))
            )
        except Exception as exc:
            errors.append(f"{name}: {first_line(exc)[:120] or type(exc).__name__}")
    raise ModelUnavailable(f"cannot download {arch} weights ({tag}): {'; '.join(errors)}")
