"""The world model: a small open_clip CLIP trained contrastively on world scenes, on CPU.

`fluffy eval world train` runs `train_world_model`; the result ships in resources/world/ and
loads like any model (`--model world-clip.json --weights world-clip.safetensors`). Its header
records the world version and the config it was trained with, so a stale file is detected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save as save_tensors

from fluffy_desktop.engine.concepts.store import header_metadata
from fluffy_desktop.engine.errors import FluffyError
from fluffy_desktop.engine.evaluate.world.instances import (
    GROUP,
    group_owners,
    instance_group,
    instance_loss,
)
from fluffy_desktop.engine.evaluate.world.named import named_photo
from fluffy_desktop.engine.evaluate.world.naming import naming_loss, naming_phrases, scene_labels
from fluffy_desktop.engine.evaluate.world.scene import caption, random_scene, render
from fluffy_desktop.engine.evaluate.world.things import WORLD_VERSION
from fluffy_desktop.engine.home import atomic_write_bytes
from fluffy_desktop.engine.resources import resource
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress

MODEL_NAME = "world-clip"
INFO_KEY = "fluffy-world-model"
WORLD_CONFIG: dict[str, Any] = {
    "embed_dim": 128,
    "vision_cfg": {
        "image_size": 64,
        "layers": 4,
        "width": 128,
        "head_width": 32,
        "patch_size": 8,
        "pos_embed_type": "sin_cos_2d",
        "patch_dropout": 0.5,
    },
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 128, "heads": 4, "layers": 3},
}
LOGIT_SCALE_MAX = 100.0


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 3200
    batch: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup: int = 200
    seed: int = 0
    naming: float = 1.0  # the naming loss's weight beside the CLIP loss (0: captions alone)
    # the instance loss's weight (0: no instance groups in the batches); tried at 1, not
    # adopted (README, "Tried: an instance loss")
    instances: float = 0.0
    named: int = 0  # photos of named things per batch, captioned by name (named.py; 0: none)
    # the vision tower's position embeddings, "sin_cos_2d" (fixed) or "learnable", and the
    # share of patches dropped from each training photo (README, "The shipped recipe")
    positions: str = "sin_cos_2d"
    patch_dropout: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.patch_dropout < 1:
            raise FluffyError("--patch-dropout must be at least 0 and below 1")
        if self.batch - self.batch_groups * GROUP - self.named < 2:
            raise FluffyError(
                "--batch must hold two random scenes besides any groups and named photos"
            )

    @property
    def batch_groups(self) -> int:
        """Instance groups in each batch, GROUP photos each: half the batch when the instance
        loss is on, none when it is off."""
        return self.batch // (2 * GROUP) if self.instances else 0


def world_config(settings: TrainSettings) -> dict:
    """WORLD_CONFIG with the settings' vision-tower choices; the same dict for the defaults."""
    vision = dict(WORLD_CONFIG["vision_cfg"])
    vision["pos_embed_type"] = settings.positions
    vision["patch_dropout"] = settings.patch_dropout
    return {**WORLD_CONFIG, "vision_cfg": vision}


def config_digest(config: dict = WORLD_CONFIG) -> str:
    return hashlib.blake2b(json.dumps(config, sort_keys=True).encode(), digest_size=8).hexdigest()


def shipped_model() -> tuple[Path, Path]:
    """(config, weights) of the world model that ships in resources/world/."""
    return resource(f"world/{MODEL_NAME}.json"), resource(f"world/{MODEL_NAME}.safetensors")


def model_info(weights: Path) -> dict:
    """The training record in a world model file's header."""
    with open(weights, "rb") as handle:
        head = handle.read(8)
        size = int.from_bytes(head, "little")
        data = head + handle.read(size)
    info: dict = json.loads(header_metadata(data)[INFO_KEY])
    return info


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """open_clip's rule: no decay for gains, biases and the logit scale."""
    decay: list[torch.nn.Parameter] = []
    rest: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        plain = param.ndim < 2 or "ln" in name or "bias" in name or "logit_scale" in name
        (rest if plain else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _schedule(settings: TrainSettings) -> Callable[[int], float]:
    warmup = min(settings.warmup, max(1, settings.steps // 5))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, settings.steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * done))

    return factor


Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class _Batches(torch.utils.data.IterableDataset[Batch]):
    """Endless seeded batches of (pixels, caption tokens, naming labels, instance owners), drawn
    in a worker process: `groups` instance groups first, then `named` photos of named things,
    then random scenes."""

    def __init__(
        self,
        settings: TrainSettings,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
    ):
        self.settings, self.preprocess, self.tokenizer = settings, preprocess, tokenizer

    def __iter__(self) -> Iterator[Batch]:
        rng = random.Random(self.settings.seed)
        groups = self.settings.batch_groups
        others = self.settings.batch - groups * GROUP
        owners = torch.tensor(group_owners(groups, others))
        while True:
            scenes = [scene for _ in range(groups) for scene in instance_group(rng)]
            named = [named_photo(rng) for _ in range(self.settings.named)]
            scenes += [scene for scene, _ in named]
            scenes += [random_scene(rng) for _ in range(others - len(named))]
            pixels = torch.stack([self.preprocess(render(scene).image) for scene in scenes])
            labels = torch.tensor([scene_labels(scene) for scene in scenes])
            texts = [caption(scene, rng) for scene in scenes]
            texts[groups * GROUP : groups * GROUP + len(named)] = [text for _, text in named]
            yield pixels, self.tokenizer(texts), labels, owners


def encode_text(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's `encode_text`, cut to the batch's longest text: the causal mask keeps the
    padding after it from changing anything, and the tower skips the padding's work (world
    captions use about 21 of the 32 tokens)."""
    length = int((tokens != 0).sum(dim=1).max())
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:length, :length]))
    pooled = x[torch.arange(len(x)), tokens.argmax(dim=-1)]
    projected: torch.Tensor = pooled @ model.text_projection
    return projected


def _step_loss(
    model: Any, batch: Batch, phrases: torch.Tensor, settings: TrainSettings
) -> tuple[torch.Tensor, float]:
    """The symmetric CLIP loss plus the weighted naming and instance losses, and the in-batch
    image→text accuracy."""
    pixels, tokens, labels, owners = batch
    images = F.normalize(model.encode_image(pixels), dim=-1)
    texts = F.normalize(encode_text(model, tokens), dim=-1)
    scale = model.logit_scale.exp()
    logits = scale * images @ texts.T
    targets = torch.arange(len(pixels))
    loss = (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    if settings.naming:
        named = F.normalize(encode_text(model, phrases), dim=-1)
        loss = loss + settings.naming * naming_loss(images, named, labels, scale)
    if settings.instances:
        loss = loss + settings.instances * instance_loss(images, owners)
    accuracy = float((logits.argmax(dim=1) == targets).float().mean())
    return loss, accuracy


def train_world_model(
    folder: Path,
    settings: TrainSettings = TrainSettings(),
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict:
    """Train the world model and write world-clip.json and world-clip.safetensors (float16)."""
    progress = progress or no_progress
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / f"{MODEL_NAME}.json"
    config = world_config(settings)
    atomic_write_bytes(config_path, json.dumps(config, indent=2).encode())
    open_clip.add_model_config(config_path)
    torch.manual_seed(settings.seed)
    model, _, preprocess = open_clip.create_model_and_transforms(MODEL_NAME, pretrained=None)
    tokenizer = open_clip.get_tokenizer(MODEL_NAME)
    optimizer = torch.optim.AdamW(_param_groups(model, settings.weight_decay), lr=settings.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(settings))
    batches = torch.utils.data.DataLoader(
        _Batches(settings, preprocess, tokenizer),
        batch_size=None,
        num_workers=1,
    )
    started, history = time.perf_counter(), []
    model.train()
    phrases = tokenizer(naming_phrases())
    for step, batch in zip(range(settings.steps), batches, strict=False):
        check_cancel(cancel)
        loss, accuracy = _step_loss(model, batch, phrases, settings)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(LOGIT_SCALE_MAX))
        history.append((loss.item(), accuracy))
        progress("Training the world model", step + 1, settings.steps)
    tail = history[-50:]
    info = {
        "world": WORLD_VERSION,
        "config": config_digest(config),
        "steps": settings.steps,
        "batch": settings.batch,
        "seed": settings.seed,
        "naming": settings.naming,
        "instances": settings.instances,
        "groups": settings.batch_groups,
        "named": settings.named,
        "positions": settings.positions,
        "patch_dropout": settings.patch_dropout,
        "loss_last": round(sum(h[0] for h in tail) / len(tail), 4),
        "accuracy_last": round(sum(h[1] for h in tail) / len(tail), 4),
        "seconds": round(time.perf_counter() - started, 1),
    }
    state = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    data = save_tensors(state, metadata={INFO_KEY: json.dumps(info)})
    atomic_write_bytes(folder / f"{MODEL_NAME}.safetensors", data)
    return info


def train_world(
    folder: Path, progress: Progress | None = None, **overrides: float | str | None
) -> dict:
    """`eval world train`: the model files' paths and the training record. overrides: any of
    TrainSettings' fields (seed, steps, naming, positions…); None keeps the recipe's own."""
    chosen: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    settings = dataclasses.replace(TrainSettings(), **chosen)
    info = train_world_model(Path(folder), settings, progress)
    config, weights = (
        Path(folder) / f"{MODEL_NAME}.json",
        Path(folder) / f"{MODEL_NAME}.safetensors",
    )
    return {"config_file": str(config), "weights_file": str(weights), **info}
