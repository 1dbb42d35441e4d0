"""Where CLIP weights come from: a local file, or the open_clip hub (cached under the home)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.client import HTTPException, HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

import torch

from fluffy_desktop import __version__
from fluffy_desktop.engine.errors import HomeUnwritable, ModelUnavailable, first_line
from fluffy_desktop.engine.home import atomic_path, atomic_write_bytes, read_record
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress

DOWNLOAD_STAGE = "Downloading model"
DOWNLOAD_CHUNK = 1 << 16  # bytes read between two looks at the cancel flag
DOWNLOAD_TIMEOUT_S = 30.0  # a hub that sends nothing for this long has gone away


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file or a plain state dict, never by unpickling objects."""
    if not path.is_file():
        raise ModelUnavailable(
            f"weights file {path} does not exist: pass --weights with an open_clip checkpoint"
        )
    state: object
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


HUB_FILES = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]  # safest first


def _repos_record(cache_dir: Path) -> Path:
    return cache_dir / "downloads" / "hub-repos.json"


def _tag_key(arch: str, tag: str) -> str:
    return f"{arch} {tag}"


def _remembered_repos(cache_dir: Path) -> dict[str, str]:
    known = read_record(_repos_record(cache_dir))
    return {k: v for k, v in known.items() if isinstance(v, str)}


def _write_record(path: Path, known: dict[str, Any]) -> None:
    """Save one of the models folder's records; a home that cannot be written just does not
    remember."""
    with contextlib.suppress(HomeUnwritable, OSError):
        atomic_write_bytes(path, json.dumps(known, indent=1).encode())


def _hub_repo(arch: str, tag: str, cache_dir: Path) -> str:
    """The hub repository of a pretrained tag: remembered once its weights are on disk (see
    _remember_repo), else looked up in open_clip's table."""
    known = _remembered_repos(cache_dir).get(_tag_key(arch, tag))
    if known is not None:
        return known
    import open_clip

    repo = str((open_clip.get_pretrained_cfg(arch, tag) or {}).get("hf_hub", "")).strip("/")
    if not repo:
        known_tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise ModelUnavailable(f"no hub weights for {arch} tag {tag!r} (known tags: {known_tags})")
    return repo


def _remember_repo(arch: str, tag: str, repo: str, cache_dir: Path) -> None:
    """Note which repository a tag's weights came from, so that later starts find them without
    importing open_clip (1.7 s on 2 cores); a home that cannot be written just does not."""
    known, key = _remembered_repos(cache_dir), _tag_key(arch, tag)
    if known.get(key) != repo:
        known[key] = repo
        _write_record(_repos_record(cache_dir), known)


PIXEL_KEYS = ("mean", "std", "interpolation", "resize_mode")


def _pixels_record(cache_dir: Path) -> Path:
    return cache_dir / "downloads" / "hub-pixels.json"


def _pixel_stats_valid(stats: object) -> bool:
    """Whether a remembered record reads as open_clip's table does (a damaged one does not)."""
    if not isinstance(stats, dict) or not set(stats) <= set(PIXEL_KEYS):
        return False
    numbers = [stats.get(key, [0.0] * 3) for key in ("mean", "std")]
    words = [stats.get(key, "") for key in ("interpolation", "resize_mode")]
    triples = all(
        isinstance(n, list) and len(n) == 3 and all(isinstance(x, int | float) for x in n)
        for n in numbers
    )
    return triples and all(isinstance(word, str) for word in words)


def hub_pixel_stats(arch: str, tag: str, cache_dir: Path) -> dict[str, Any]:
    """How a pretrained tag's photos were preprocessed (mean, std, interpolation, resize
    mode), from open_clip's table; remembered under cache_dir once looked up, so that later
    starts encode photos without importing open_clip."""
    record, key = _pixels_record(cache_dir), _tag_key(arch, tag)
    known = read_record(record)
    if _pixel_stats_valid(known.get(key)):
        return dict(known[key])
    import open_clip

    cfg = open_clip.get_pretrained_cfg(arch, tag) or {}
    stats = {name: cfg[name] for name in PIXEL_KEYS if cfg.get(name) is not None}
    stats = dict(json.loads(json.dumps(stats)))  # as it will read back: tuples become lists
    _write_record(record, {**known, key: stats})
    return stats


def _hub_endpoint() -> str:
    """The hub's address (HF_ENDPOINT overrides huggingface.co)."""
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def _hub_address() -> tuple[str, int]:
    """Host and port of the hub endpoint."""
    url = urlsplit(_hub_endpoint())
    return url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)


def _online(timeout: float = 3.0) -> bool:
    """Whether the hub answers at all: a quick check that spares minutes of retries offline."""
    try:
        socket.create_connection(_hub_address(), timeout=timeout).close()
    except OSError:
        return False
    return True


def _download_path(cache_dir: Path, repo: str, name: str) -> Path:
    """Where a downloaded hub file is kept under the models folder."""
    return cache_dir / "downloads" / repo.replace("/", "--") / name


def cached_hub_weights(arch: str, tag: str, cache_dir: Path) -> Path | None:
    """The weights file of a hub tag when it is already downloaded, else None (no network).

    Earlier builds downloaded through huggingface_hub, whose cache is looked in too."""
    from huggingface_hub import try_to_load_from_cache

    repo = _hub_repo(arch, tag, cache_dir)
    for name in HUB_FILES:
        path = _download_path(cache_dir, repo, name)
        if not path.is_file():
            found = try_to_load_from_cache(repo, name, cache_dir=str(cache_dir))
            if not isinstance(found, str):
                continue
            path = Path(found)
        _remember_repo(arch, tag, repo, cache_dir)
        return path
    return None


def _chunks(response: HTTPResponse) -> Iterator[bytes]:
    """The body in pieces as they arrive; a broken connection is a model problem, not a disk one."""
    try:
        while chunk := response.read1(DOWNLOAD_CHUNK):
            yield chunk
    except (OSError, HTTPException) as exc:
        reason = first_line(exc)[:120] or type(exc).__name__
        raise ModelUnavailable(f"the model download broke off ({reason}): try again") from exc


def _save(
    response: HTTPResponse, target: Path, progress: Progress, cancel: threading.Event | None
) -> Path:
    """Stream the response into target through a temporary file beside it, looking at cancel
    between chunks: only a complete download is renamed into place."""
    total = int(response.headers.get("Content-Length") or 0)
    done = 0
    progress(DOWNLOAD_STAGE, done, total)
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        for chunk in _chunks(response):
            check_cancel(cancel)
            out.write(chunk)
            done += len(chunk)
            progress(DOWNLOAD_STAGE, done, total)
        if total and done != total:
            raise ModelUnavailable(
                f"the model download broke off ({done:,} of {total:,} bytes): try again"
            )
    return target


def fetch_hub_weights(
    arch: str,
    tag: str,
    cache_dir: Path,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The cached weights file of a hub tag, downloading it (with progress, stopping when
    cancel is set) when not cached."""
    cached = cached_hub_weights(arch, tag, cache_dir)
    if cached is not None:
        return cached
    repo = _hub_repo(arch, tag, cache_dir)
    if not _online():
        raise ModelUnavailable(
            f"the {arch} weights ({tag}) are not downloaded yet and {_hub_address()[0]} cannot be "
            "reached; connect once, or pass --weights FILE (an open_clip checkpoint)"
        )
    errors = []
    for name in HUB_FILES:  # the first file the hub has is the one downloaded
        check_cancel(cancel)
        url = f"{_hub_endpoint()}/{repo}/resolve/main/{quote(name)}"
        request = Request(url, headers={"User-Agent": f"fluffy/{__version__}"})
        try:
            response = urlopen(request, timeout=DOWNLOAD_TIMEOUT_S)
        except OSError as exc:  # HTTPError (no such file) and URLError are OSErrors
            errors.append(f"{name}: {first_line(exc)[:120] or type(exc).__name__}")
            continue
        with response:
            target = _download_path(cache_dir, repo, name)
            _save(response, target, progress or no_progress, cancel)
            _remember_repo(arch, tag, repo, cache_dir)
            return target
    raise ModelUnavailable(f"cannot download {arch} weights ({tag}): {'; '.join(errors)}")
