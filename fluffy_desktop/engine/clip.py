"""The frozen CLIP model: loading (hub tag or local weights file), encoding, token injection."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from fluffy_desktop.engine.errors import ModelUnavailable
from fluffy_desktop.engine.image_tower import ImageTower, NotPlainImageTower, pixel_recipe
from fluffy_desktop.engine.open_clip_files import arch_config, clip_tokenizer
from fluffy_desktop.engine.spec import PLACEHOLDER, ModelSpec
from fluffy_desktop.engine.tasks import Progress
from fluffy_desktop.engine.text_tower import NotPlainTextTower, TextTower
from fluffy_desktop.engine.weights import fetch_hub_weights, hub_pixel_stats, read_state_dict

Preprocess = Callable[[Image.Image], torch.Tensor]
# open_clip's whole model (untyped: its towers are plain attributes) and its preprocessing
OpenClipParts = tuple[Any, Preprocess]


def pick_device(requested: str) -> torch.device:
    """auto → cuda, then mps, then cpu; a forced device that is absent is a user error."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("--device cuda was asked for, but no CUDA GPU is available")
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ModelUnavailable("--device mps was asked for, but Metal is not available")
    if requested not in ("cpu", "cuda", "mps"):
        raise ModelUnavailable(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    return torch.device(requested)


def _weights_file(
    spec: ModelSpec,
    name: str,
    cache_dir: Path,
    progress: Progress | None,
    cancel: threading.Event | None,
) -> Path:
    """The local weights file of a spec, downloading hub weights when they are not cached."""
    if spec.weights is not None:
        return spec.weights
    if spec.pretrained:
        return fetch_hub_weights(name, spec.pretrained, cache_dir, progress, cancel)
    raise ModelUnavailable("no model weights: pass --weights FILE or --pretrained TAG")


def _open_clip_model(
    spec: ModelSpec,
    arch: str,
    state: dict[str, torch.Tensor],
    source: Path,
    tag_stats: dict[str, Any],
) -> OpenClipParts:
    """open_clip's whole model wearing state's tensors, and its image preprocessing with a
    pretrained tag's pixel statistics (weights.hub_pixel_stats); arch is the name arch_config
    gave spec.arch (a config file's is registered with open_clip)."""
    import open_clip

    if spec.arch.endswith(".json"):
        open_clip.add_model_config(Path(spec.arch))
    overrides = {f"image_{key}": value for key, value in tag_stats.items()}
    try:
        with torch.inference_mode(False):
            return _adopt(arch, overrides, state)
    except RuntimeError as exc:
        message = f"weights file {source} does not fit the {arch} architecture"
        raise ModelUnavailable(message) from exc


class OpenClipImage:
    """open_clip's own image side, for the towers ImageTower does not compute."""

    def __init__(self, parts: OpenClipParts, device: torch.device):
        self.model, self.recipe = parts
        self.model.eval().requires_grad_(False)
        self.model.visual.to(device)
        self.image_size = _side(self.model.visual.image_size)
        self.patch_side = _side(self.model.visual.patch_size)

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        features: torch.Tensor = self.model.encode_image(pixels)
        return features


ImageSide = ImageTower | OpenClipImage


def _plain_or_open_clip(
    config: dict[str, Any],
    state: dict[str, torch.Tensor],
    device: torch.device,
    tag_stats: dict[str, Any],
    open_clip_parts: Callable[[], OpenClipParts],
) -> ImageSide:
    """ImageTower for a plain ViT (preprocessing with a pretrained tag's pixel statistics),
    else open_clip's image side, built by open_clip_parts. ValueError when state does not
    hold the plain tower the config describes."""
    try:
        return ImageTower(config, state, device, pixel_recipe(config, tag_stats))
    except NotPlainImageTower as exc:
        logging.getLogger(__name__).info("open_clip builds the image side: %s", exc)
    return OpenClipImage(open_clip_parts(), device)


def _image_side(
    spec: ModelSpec,
    found: tuple[str, dict[str, Any]],
    state: dict[str, torch.Tensor],
    source: Path,
    cache_dir: Path,
) -> Callable[[torch.device], ImageSide]:
    """What builds a loaded model's image side on a device."""
    arch, config = found

    def build(device: torch.device) -> ImageSide:
        tag_stats = hub_pixel_stats(arch, spec.pretrained, cache_dir) if spec.pretrained else {}
        parts = partial(_open_clip_model, spec, arch, state, source, tag_stats)
        try:
            return _plain_or_open_clip(config, state, device, tag_stats, parts)
        except ValueError as exc:
            message = f"weights file {source} does not fit the {arch} architecture ({exc})"
            raise ModelUnavailable(message) from exc

    return build


def _adopt(arch: str, overrides: dict, state: dict[str, torch.Tensor]) -> OpenClipParts:
    """The architecture wearing `state`'s own tensors as its weights.

    It is built on the meta device, so nothing is initialised at random or copied: a
    safetensors file's tensors are memory-mapped, and only the pages a computation touches
    are read (search touches the text tower alone). The causal mask, which is not in the
    file, is rebuilt; an architecture with any other such buffer is built and loaded the
    usual way.
    """
    model, preprocess = _create(arch, overrides, "meta")
    expected = model.state_dict()
    if state.keys() == expected.keys():
        state = {key: value.to(expected[key].dtype) for key, value in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    if getattr(model, "attn_mask", None) is not None and model.attn_mask.is_meta:
        side = model.attn_mask.shape[0]
        model.attn_mask = torch.full((side, side), float("-inf")).triu_(1)
    if any(tensor.is_meta for tensor in model.buffers()):
        model, preprocess = _create(arch, overrides, "cpu")
        model.load_state_dict(state, strict=True)
    return model, preprocess


def _create(arch: str, overrides: dict, device: str) -> OpenClipParts:
    """open_clip's model and image preprocessing for arch, without weights of note."""
    import open_clip

    with _quiet_random_init(), torch.device(device):
        model, _, preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=None, device=device, **overrides
        )
    return model, preprocess


class _RandomInitNotice(logging.Filter):
    """Hides open_clip's "initialized randomly" notice: real weights are loaded right after."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@contextmanager
def _quiet_random_init() -> Iterator[None]:
    notice = _RandomInitNotice()
    logging.getLogger().addFilter(notice)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(notice)


def _side(size: Any) -> int:
    """A square's side, given as a number or as (height, width)."""
    return int(size[0] if isinstance(size, tuple | list) else size)


def _fingerprint(state: dict[str, torch.Tensor], arch: str) -> str:
    """A short identity of the weights, the same however they were loaded (ValueError when
    they hold no logit scale)."""
    if "logit_scale" not in state:
        raise ValueError("no logit_scale")
    digest = hashlib.blake2b(digest_size=8)
    projection = "text_projection" if "text_projection" in state else "text_projection.weight"
    for key in (projection, "positional_embedding", "logit_scale"):
        digest.update(state[key].detach().float().cpu().numpy().tobytes())
    return f"{arch}:{digest.hexdigest()}"


class ClipModel:
    """A frozen CLIP model, ready to encode and to inject words.

    Text goes through TextTower and photos through ImageTower, both computed from the
    weights without importing open_clip (2.3 s of a fresh process on 2 cores). The image side
    is built on first use; a tower ImageTower does not compute is built by open_clip, wearing
    the same tensors.
    """

    def __init__(
        self,
        arch: str,
        config: dict[str, Any],
        state: dict[str, torch.Tensor],
        device: torch.device | str,
        image_side: Callable[[torch.device], ImageSide],
    ):
        """image_side builds the image side on a device; ValueError when state does not fit
        the config's text tower."""
        self.device = torch.device(device)
        self.arch = arch
        try:
            self.text = TextTower(config, state, self.device)
        except NotPlainTextTower as exc:
            message = f"{arch} has no built-in CLIP text tower ({exc}); concepts need one"
            raise ModelUnavailable(f"{message} (try ViT-B-32)") from exc
        self.state = state
        self.tokenizer = clip_tokenizer(arch, config)
        self.identity = _fingerprint(state, arch)
        self.placeholder_id = self._single_token_id(PLACEHOLDER)
        self._build_image_side = image_side
        self._image: ImageSide | None = None
        self._building = threading.Lock()

    @classmethod
    def load(
        cls,
        spec: ModelSpec,
        cache_dir: Path,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> ClipModel:
        """Load per spec (a download stops when cancel is set); raises ModelUnavailable with a
        one-line message, never random weights. Whether the file fits the image side is
        checked when that is first built (ensure_image_side)."""
        device = pick_device(spec.device)
        name, config = arch_config(spec.arch)
        source = _weights_file(spec, name, cache_dir, progress, cancel)
        state = read_state_dict(source)
        try:
            image_side = _image_side(spec, (name, config), state, source, cache_dir)
            return cls(name, config, state, device, image_side)
        except ValueError as exc:
            message = f"weights file {source} does not fit the {name} architecture ({exc})"
            raise ModelUnavailable(message) from exc

    @classmethod
    def from_open_clip(
        cls, model: Any, preprocess: Preprocess, arch: str, device: torch.device | str
    ) -> ClipModel:
        """An open_clip model built already (the bench's random weights), its image side
        computed as a loaded model's is."""
        import open_clip

        state = model.state_dict()
        config = open_clip.get_model_config(arch)

        def build(on: torch.device) -> ImageSide:
            return _plain_or_open_clip(config, state, on, {}, lambda: (model, preprocess))

        return cls(arch, config, state, device, build)

    @property
    def image(self) -> ImageSide:
        """The image side, built on first use: ModelUnavailable when the weights do not fit."""
        with self._building:
            if self._image is None:
                self._image = self._build_image_side(self.device)
            return self._image

    def ensure_image_side(self) -> None:
        """Build the image side now: ModelUnavailable when the weights do not fit it."""
        _ = self.image

    @property
    def image_tower(self) -> ImageTower:
        """The plain ViT's own tower, which locating reads inside of."""
        image = self.image
        if not isinstance(image, ImageTower):
            raise ModelUnavailable(f"{self.arch}: locating needs a plain class-token ViT")
        return image

    @property
    def preprocess(self) -> Preprocess:
        return self.image.recipe

    # --- shapes ---------------------------------------------------------------------------
    @property
    def image_size(self) -> int:
        return self.image.image_size

    @property
    def patch_side(self) -> int:
        """Pixels along a side of one of the vision tower's patches."""
        return self.image.patch_side

    @property
    def dim(self) -> int:
        """Dimension of the joint image-text space."""
        return self.text.embed_dim

    @property
    def word_width(self) -> int:
        """Dimension of an input word embedding (a row of token_embedding)."""
        return self.text.width

    # --- plain encoding -------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        return self.tokenizer(list(texts)).to(self.device)

    def _inner_ids(self, text: str) -> torch.Tensor:
        """Token ids of a text's sub-words, without the start and end-of-text tokens."""
        ids = self.tokenize([text])[0]
        return ids[1 : int(ids.argmax())]

    def token_ids(self, text: str) -> list[int]:
        """The ids of a text's sub-words (BPE tokens), in order."""
        ids: list[int] = self._inner_ids(text).tolist()
        return ids

    def word_rows(self, word: str) -> torch.Tensor:
        """Token-embedding rows of a word's sub-words (without start/end tokens)."""
        rows: torch.Tensor = self.text.token_embedding[self._inner_ids(word)]
        return rows.detach().clone()

    def _single_token_id(self, text: str) -> int:
        inner = self._inner_ids(text)
        if len(inner) != 1:
            raise ModelUnavailable(f"placeholder {text!r} is not a single token for {self.arch}")
        return int(inner[0])

    @torch.inference_mode()
    def encode_image_batch(self, pixels: torch.Tensor) -> np.ndarray:
        """L2-normalised float32 features of a preprocessed batch."""
        features = self.image.encode(pixels.to(self.device))
        return F.normalize(features.float(), dim=-1).cpu().numpy()

    def image_tensor(self, image: Image.Image) -> torch.Tensor:
        return self.preprocess(image)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.encode_image_batch(torch.stack([self.image_tensor(im) for im in images]))

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 features of plain texts (truncated to the longest EOT)."""
        features = self.encode_tokens(self.tokenize(texts))
        return F.normalize(features.float(), dim=-1).cpu().numpy()

    # --- token injection ------------------------------------------------------------------
    def encode_tokens(
        self,
        tokens: torch.Tensor,
        words: torch.Tensor | None = None,
        truncate: bool = True,
    ) -> torch.Tensor:
        """Unnormalised text features; placeholder rows take the vectors in `words`.

        `words` holds one vector per placeholder occurrence, in reading order over the batch
        (row-major). Differentiable in `words`. Truncating to the longest end-of-text + 1 is
        exact because the attention mask is causal.
        """
        length = int(tokens.argmax(dim=-1).max()) + 1 if truncate else tokens.shape[1]
        tokens = tokens[:, :length]
        x = self.text.embed(tokens)
        if words is not None:
            rows, cols = (tokens == self.placeholder_id).nonzero(as_tuple=True)
            if len(rows) != len(words):
                raise ValueError(f"{len(rows)} placeholders but {len(words)} word vectors")
            x = x.index_put((rows, cols), words.to(device=x.device, dtype=x.dtype))
        return self.text.encode_embedded(x, tokens)

    def encode_prompts(self, prompts: Sequence[str], words: torch.Tensor | None) -> torch.Tensor:
        """Normalised features of prompts containing PLACEHOLDER, filled from `words`."""
        return F.normalize(self.encode_tokens(self.tokenize(prompts), words), dim=-1)
