"""f_θ, the inverter: a deep set that maps a few photo embeddings to a word vector.

Trained once per CLIP model (PALAVRA stage 1) and saved under the home directory; `learn`
starts from its prediction. Training loss, per batch of sets of distinct things:

* cycle: NT-Xent (τ = 0.25) between the predicted word in a template and the same template
  with the true name (one template per step, drawn from CYCLE_TEMPLATES);
* word: 2 − 2·cos(w, embedding row of the true name's first sub-word);
* image (Fluffy's addition, weight `image_weight` = 0.5; 0 gives the paper's loss): NT-Xent
  between the predicted word in the template and the set's mean embedding, so the prediction
  already does part of what stage 2 tunes for and starts close to the photos.

Steps alternate between photo sets (word spoken of as "*") and text sets ("<coarse> *", the
form queries use). Stats report training losses (means of the first/last 10 steps) and a probe:
the cycle and image losses on fixed batches with a fixed template, before and after training.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from torch import nn

from fluffy_desktop.engine.clip import PLACEHOLDER, ClipModel
from fluffy_desktop.engine.concepts import wordsets
from fluffy_desktop.engine.concepts.prompts import CYCLE_TEMPLATES, fill
from fluffy_desktop.engine.concepts.store import header_metadata
from fluffy_desktop.engine.errors import ConceptMismatch
from fluffy_desktop.engine.home import atomic_write_bytes
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress

FORMAT = "fluffy-inverter/1"
INFO_KEY = "fluffy-inverter"
DEFAULT_WIDTH = 1024  # the paper's 4096 is ≈90 M parameters; 1024 is ≈7 M (≈28 MB)
DEFAULT_STEPS = 1000
TEMPERATURE = 0.25
SET_SIZE = 5
PHOTOS_PER_CLASS = 200
LOSS_WINDOW = 10  # first/last losses are means over this many steps


class _Equivariant(nn.Module):
    """Permutation-equivariant layer: Γx − Λ·mean(x) over the set dimension."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.gamma = nn.Linear(d_in, d_out)
        self.lam = nn.Linear(d_in, d_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.gamma(x) - self.lam(x.mean(dim=1, keepdim=True))
        return out


class DeepSet(nn.Module):
    """Three equivariant layers with ELU, mean pooling, then a two-layer head (dropout 0.25)."""

    def __init__(self, in_dim: int, width: int, out_dim: int, dropout: float = 0.25):
        super().__init__()
        self.phi = nn.Sequential(
            _Equivariant(in_dim, width),
            nn.ELU(),
            _Equivariant(width, width),
            nn.ELU(),
            _Equivariant(width, width),
            nn.ELU(),
        )
        self.rho = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.ELU(),
            nn.Dropout(dropout),
            nn.Linear(width, out_dim),
        )

    def forward(self, sets: torch.Tensor) -> torch.Tensor:
        """(batch, set size, in_dim) → (batch, out_dim) raw word vectors."""
        words: torch.Tensor = self.rho(self.phi(sets).mean(dim=1))
        return words


def _file_stem(identity: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", identity).strip("._") or "model"


class Inverter:
    """A trained f_θ for one CLIP model."""

    def __init__(self, net: DeepSet, model_identity: str, info: dict):
        self.net = net.eval()
        self.model_identity = model_identity
        self.info = info

    @torch.no_grad()
    def predict(self, image_embeddings: np.ndarray | torch.Tensor) -> torch.Tensor:
        """The word vector (word_width,) for a set of image embeddings (k, dim) or (dim,)."""
        x = torch.as_tensor(np.asarray(image_embeddings, dtype=np.float32))
        x = F.normalize(x.reshape(-1, x.shape[-1]), dim=-1)
        device = next(self.net.parameters()).device
        word: torch.Tensor = self.net(x[None].to(device))[0].float().cpu()
        return word

    def save(self, directory: Path) -> None:
        """Write <model>.safetensors (weights, with the info in its header) in one atomic write."""
        stem = _file_stem(self.model_identity)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        info = {**self.info, "format": FORMAT, "model": self.model_identity}
        data = save_tensors(state, metadata={INFO_KEY: json.dumps(info)})
        atomic_write_bytes(directory / f"{stem}.safetensors", data)

    @classmethod
    def load(cls, directory: Path, model_identity: str) -> Inverter | None:
        """The inverter saved for this model, or None when there is none (or it is another's)."""
        weights_path = directory / f"{_file_stem(model_identity)}.safetensors"
        if not weights_path.is_file():
            return None
        try:
            data = weights_path.read_bytes()
            info = json.loads(header_metadata(data)[INFO_KEY])
            if info.get("format") != FORMAT or info.get("model") != model_identity:
                return None
            net = DeepSet(int(info["in_dim"]), int(info["width"]), int(info["word_width"]))
            net.load_state_dict(load_tensors(data), strict=True)
        except Exception as exc:  # an untrusted file: any failure to parse is a refusal
            raise ConceptMismatch(
                f"the inverter in {directory} is damaged: run `fluffy inverter train` again"
            ) from exc
        return cls(net, model_identity, info)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over the batch: a[i] and b[i] are a pair; every other vector is a negative."""
    joint = F.normalize(torch.cat([a, b]), dim=-1)
    logits = joint @ joint.T / temperature
    logits = logits.masked_fill(torch.eye(len(joint), dtype=torch.bool, device=joint.device), -1e9)
    n = len(a)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(joint.device)
    return F.cross_entropy(logits, targets)


def _cosine_schedule(steps: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    return factor


def _first_rows(clip: ClipModel, names: list[str]) -> torch.Tensor:
    """Token-embedding row of each name's first sub-word: the word loss's target."""
    return torch.stack([clip.word_rows(name)[0] for name in names]).float()


def _article_word(source: wordsets.SetSource, entry: int) -> str | None:
    """What the slot's article agrees with: the true name when the slot is a bare word."""
    return source.names[entry] if source.slots[entry] == PLACEHOLDER else None


def _losses(
    clip: ClipModel,
    net: DeepSet,
    source: wordsets.SetSource,
    rows: torch.Tensor,
    template: str,
    generator: torch.Generator,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(cycle, word, image) losses of one batch of sets from one source."""
    sets, chosen = source.sample(batch_size, SET_SIZE, generator)
    sets = sets.to(clip.device)
    words = net(sets)
    # A bare "*" takes the true name's article, so prediction and target differ only in the word.
    prompts = [fill(template, source.slots[i], _article_word(source, i)) for i in chosen]
    predicted = clip.encode_tokens(clip.tokenize(prompts), words)
    with torch.no_grad():
        target = clip.encode_tokens(
            clip.tokenize([fill(template, source.names[i]) for i in chosen])
        )
    cycle = nt_xent(predicted, target, TEMPERATURE)
    word = (2 - 2 * F.cosine_similarity(words, rows[chosen].to(clip.device), dim=-1)).mean()
    image = nt_xent(predicted, sets.mean(dim=1), TEMPERATURE)
    return cycle, word, image


def _training_sets(
    clip: ClipModel,
    images_dir: Path | None,
    library: np.ndarray | None,
    progress: Progress,
    cancel: threading.Event | None,
) -> tuple[list[wordsets.SetSource], dict]:
    """Photo sets (when a folder is given) and text sets, shifted by the modality gap.

    The gap is measured with the training photos, else with the caller's library embeddings;
    with neither, text sets stay in text space (gap "none") and the inverter meets photos
    only at use time, so its first guesses are weaker.
    """
    sources: list[wordsets.SetSource] = []
    data: dict[str, object] = {"classes": 0, "unreadable": 0}
    photos = wordsets.library_sample(library)
    data["gap"] = "library" if photos is not None else "none"
    if images_dir is not None:
        source, data["unreadable"] = wordsets.image_folder_sets(
            clip, Path(images_dir), PHOTOS_PER_CLASS, progress, cancel
        )
        sources.append(source)
        photos, data["gap"], data["classes"] = torch.cat(source.members), "photos", len(source)
    pairs = wordsets.word_pairs()
    captions = wordsets.caption_embeddings(clip, pairs, cancel)
    shift = torch.zeros(clip.dim) if photos is None else wordsets.modality_gap(photos, captions)
    sources.append(wordsets.text_sets(captions, pairs, shift))
    data["words"] = len(pairs)
    return sources, data


@torch.no_grad()
def _probe(
    clip: ClipModel,
    net: DeepSet,
    sources: list[wordsets.SetSource],
    rows: list[torch.Tensor],
    seed: int,
    batch_size: int,
) -> tuple[float, float]:
    """(cycle, image) losses on fixed batches with a fixed template, without dropout."""
    mode, generator = net.training, torch.Generator().manual_seed(seed)
    net.eval()
    losses = [
        _losses(clip, net, source, row, CYCLE_TEMPLATES[0], generator, batch_size)
        for source, row in zip(sources, rows, strict=True)
    ]
    net.train(mode)
    return (
        round(float(np.mean([cycle.item() for cycle, _, _ in losses])), 4),
        round(float(np.mean([image.item() for _, _, image in losses])), 4),
    )


def _window_means(history: list[list[float]]) -> dict:
    window = min(LOSS_WINDOW, len(history))
    first, last = np.mean(history[:window], axis=0), np.mean(history[-window:], axis=0)
    names = ("loss", "cycle", "word", "image")
    return {
        **{f"{n}_first": round(float(v), 4) for n, v in zip(names, first, strict=True)},
        **{f"{n}_last": round(float(v), 4) for n, v in zip(names, last, strict=True)},
    }


def _optimise(
    clip: ClipModel,
    net: DeepSet,
    sources: list[wordsets.SetSource],
    rows: list[torch.Tensor],
    steps: int,
    seed: int,
    batch_size: int,
    lr: float,
    image_weight: float,
    progress: Progress,
    cancel: threading.Event | None,
) -> list[list[float]]:
    """The training loop; the [total, cycle, word, image] losses of every step."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine_schedule(steps, warmup))
    history = []
    for step in range(steps):
        check_cancel(cancel)
        pick = int(torch.randint(len(CYCLE_TEMPLATES), (1,), generator=generator))
        k = step % len(sources)
        cycle, word, image = _losses(
            clip, net, sources[k], rows[k], CYCLE_TEMPLATES[pick], generator, batch_size
        )
        loss = cycle + word + image_weight * image
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append([loss.item(), cycle.item(), word.item(), image.item()])
        progress("Training the inverter", step + 1, steps)
    return history


def train_inverter(
    clip: ClipModel,
    images_dir: Path | None,
    steps: int = DEFAULT_STEPS,
    width: int = DEFAULT_WIDTH,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
    *,
    library: np.ndarray | None = None,
    batch_size: int = 64,
    lr: float = 5e-4,
    image_weight: float = 0.5,
) -> tuple[Inverter, dict]:
    """Train f_θ for this model: Adam, linear warm-up then cosine decay, one source per step.

    `library` (optional): image embeddings of the user's photos, to measure the modality gap
    when no training folder is given. Returns the inverter and its stats.
    """
    if steps < 1 or width < 8:
        raise wordsets.BadTrainingData("inverter training needs --steps ≥ 1 and --width ≥ 8")
    progress = progress or no_progress
    started = time.perf_counter()
    sources, data = _training_sets(clip, images_dir, library, progress, cancel)
    rows = [_first_rows(clip, source.names) for source in sources]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = DeepSet(clip.dim, width, clip.word_width).to(clip.device).train()
        before = _probe(clip, net, sources, rows, seed + 1, batch_size)
        optimising = time.perf_counter()
        history = _optimise(
            clip, net, sources, rows, steps, seed, batch_size, lr, image_weight, progress, cancel
        )
        steps_per_s = steps / (time.perf_counter() - optimising)
        after = _probe(clip, net, sources, rows, seed + 1, batch_size)
    stats = {
        "steps": steps,
        "width": width,
        **data,
        **_window_means(history),
        "probe_cycle_before": before[0],
        "probe_cycle_after": after[0],
        "probe_image_before": before[1],
        "probe_image_after": after[1],
        "seconds": round(time.perf_counter() - started, 3),
        "steps_per_s": round(steps_per_s, 3),
    }
    info = {
        "in_dim": clip.dim,
        "width": width,
        "word_width": clip.word_width,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "stats": stats,
    }
    return Inverter(net, clip.identity, info), stats
