"""Stage 2: tune one word vector so that "<kind> *" describes the user's photos (seconds).

Loss (τ = 0.25), with C_j the normalised text embedding of template j holding "<kind> *", S_j
the same template holding the super-concept (default: the kind), x a view of a shot:

* every shot view prefers its concept prompt to the super-concept's:
  mean over views and templates of −log softmax([x·C_j, x·S_j] / τ)[0] (`loss="views"`, the
  default). The paper anchors on the word instead, −log softmax([C_j·x, C_j·S_j] / τ)[0]
  (`loss="paper"`; `"both"` averages the two). On the semantic test world the paper's anchor
  lost identity precision on two seeds of three and nothing beat the default beyond the
  spread across seeds (README, "Measuring quality");
* each concept prompt prefers the mean shot m̄ to what the concept is not, n: the user's
  negative photos (and, with `library_contrast`, the library's average photo):
  `negative_weight` / √k · mean over templates of −log softmax([C_j·m̄, C_j·n₁, …] / τ)[0],
  for k negative photos (their views are the n). At full weight whatever k, a batch of "no"
  answers could pull the word off its own examples; 1/√k leaves a single "Not Fluffy" as
  strong and measured better after answers on both world models (README, "Tagging").

The library contrast is off, as in the paper: it was meant to keep the word from what every
photo shares (the modality gap), but on the semantic test world it did not beat the paper's
stage 2 on any seed (README, "Stage-2 choices").

The image tower is frozen, so the views (random resized crops and flips, `views.py`) are
encoded once, and the app keeps them for the next re-tune; each step is one batched, truncated
text-tower forward and backward over a rotating subset of the templates (step s takes
templates s·k … s·k + k − 1, modulo their number).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.optim.adam import adam

from fluffy_desktop.engine.clip import ClipModel
from fluffy_desktop.engine.concepts.inverter import Inverter
from fluffy_desktop.engine.concepts.prompts import LEARN_TEMPLATES, concept_slot, fill
from fluffy_desktop.engine.concepts.store import BadConcept
from fluffy_desktop.engine.concepts.views import (
    encode_views,
    photo_rows,
    split_views,
    views_per_photo,
)
from fluffy_desktop.engine.tasks import Progress, check_cancel, no_progress


@dataclass(frozen=True)
class LearnSettings:
    """Stage-2 settings; the defaults keep 5 photos under 10 s on two CPU cores (ViT-B/32)."""

    steps: int = 30
    lr: float = 0.01
    temperature: float = 0.25
    super_concept: str | None = None  # None: the concept's kind
    augmentations: int = 2  # augmented views per photo, besides the photo itself
    templates: tuple[str, ...] = LEARN_TEMPLATES
    templates_per_step: int = 4  # a rotating subset, batched in one text-tower call
    seed: int = 0
    negative_weight: float = 1.0
    library_contrast: bool = False  # contrast with the library's average photo, when given
    min_crop: float = 0.5  # smallest crop, as a fraction of the photo's area
    loss: str = "views"  # which shot term: "views", "paper" or "both" (see SHOT_TERMS)
    use_inverter: bool = True  # start from f_θ's guess when the model has an inverter


def kind_word(clip: ClipModel, kind: str) -> torch.Tensor:
    """The kind's word vector: the mean of its sub-words' token-embedding rows."""
    rows = clip.word_rows(kind)
    if len(rows) == 0:
        raise BadConcept(f"the kind {kind!r} has no words: say what it is, for example 'cat'")
    return rows.mean(dim=0)


def _views_prefer_concept(
    concept: torch.Tensor, super_texts: torch.Tensor, views: torch.Tensor
) -> torch.Tensor:
    """Each view against each template: −log softmax([x·C_j, x·S_j] / τ)[0] (τ applied later)."""
    return views @ super_texts.T - views @ concept.T


def _concept_prefers_views(
    concept: torch.Tensor, super_texts: torch.Tensor, views: torch.Tensor
) -> torch.Tensor:
    """The paper's anchor: −log softmax([C_j·x, C_j·S_j] / τ)[0], pushing C_j from S_j."""
    return (concept * super_texts).sum(dim=-1, keepdim=True) - concept @ views.T


SHOT_TERMS = {
    "views": (_views_prefer_concept,),
    "paper": (_concept_prefers_views,),
    "both": (_views_prefer_concept, _concept_prefers_views),
}


def word_loss(
    concept: torch.Tensor,
    super_texts: torch.Tensor,
    views: torch.Tensor,
    negatives: torch.Tensor,
    settings: LearnSettings,
) -> torch.Tensor:
    """The InfoNCE of the module docstring; all inputs are normalised."""
    tau = settings.temperature
    terms = SHOT_TERMS[settings.loss]
    shots = [F.softplus(term(concept, super_texts, views) / tau).mean() for term in terms]
    loss = torch.stack(shots).mean()
    if len(negatives) and settings.negative_weight:
        anchor = F.normalize(views.mean(dim=0), dim=-1)
        logits = torch.cat([concept @ anchor[:, None], concept @ negatives.T], dim=1) / tau
        targets = torch.zeros(len(concept), dtype=torch.long, device=concept.device)
        photos = max(1, len(negatives) // views_per_photo(settings))
        weight = settings.negative_weight / math.sqrt(photos)
        loss = loss + weight * F.cross_entropy(logits, targets)
    return loss


@torch.no_grad()
def _similarity(
    clip: ClipModel, tokens: torch.Tensor, word: torch.Tensor, views: torch.Tensor
) -> float:
    """Mean cosine of the concept's prompts (all templates) to the mean shot embedding."""
    concept = F.normalize(clip.encode_tokens(tokens, word.expand(len(tokens), -1)), dim=-1)
    return float((concept @ F.normalize(views.mean(dim=0), dim=-1)).mean())


# torch.optim.Adam's defaults, on the CPU path (one tensor, no foreach, not fused)
_ADAM: dict[str, Any] = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
_ADAM |= {"amsgrad": False, "maximize": False, "foreach": False, "capturable": False}
_ADAM |= {"differentiable": False, "fused": None, "grad_scale": None, "found_inf": None}
_ADAM |= {"has_complex": False}


class WordAdam:
    """torch's Adam (its own single-tensor arithmetic, default settings) on one word vector.

    torch.optim.Adam's constructor imports torch._dynamo, 1.7 s of a fresh process on 2
    cores: a third of a first `fluffy confirm`. The functional form steps alike, without it;
    the tests hold the two equal."""

    def __init__(self, word: torch.Tensor, lr: float):
        self.word, self.lr = word, lr
        word.grad = None
        self._moments = (torch.zeros_like(word), torch.zeros_like(word))
        self._step = torch.tensor(0.0)

    @torch.no_grad()
    def step(self) -> None:
        """One step along the word's gradient, which is then cleared."""
        if self.word.grad is None:
            raise ValueError("the word has no gradient: call backward() first")
        first, second = self._moments
        grads, step = [self.word.grad], [self._step]
        adam([self.word], grads, [first], [second], [], step, lr=self.lr, **_ADAM)
        self.word.grad = None


def _tune(
    clip: ClipModel,
    word: torch.Tensor,
    tokens: torch.Tensor,
    super_texts: torch.Tensor,
    views: torch.Tensor,
    contrast: torch.Tensor,
    settings: LearnSettings,
    progress: Progress,
    cancel: threading.Event | None,
) -> list[float]:
    """Adam on the word in place; returns the loss of each step."""
    optimizer = WordAdam(word, settings.lr)
    per_step = max(1, min(settings.templates_per_step, len(tokens)))
    losses = []
    for step in range(settings.steps):
        check_cancel(cancel)
        rows = [(step * per_step + i) % len(tokens) for i in range(per_step)]
        concept = F.normalize(clip.encode_tokens(tokens[rows], word.expand(per_step, -1)), dim=-1)
        loss = word_loss(concept, super_texts[rows], views, contrast, settings)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        progress("Learning the word", step + 1, settings.steps)
    return losses


def _contrast(negative_views: torch.Tensor, library: np.ndarray | None) -> torch.Tensor:
    """What the concept is not: the negative views, and the library's average photo if given."""
    if library is None:
        return negative_views
    average = F.normalize(torch.as_tensor(library, dtype=torch.float32).flatten(), dim=-1)
    return torch.cat([negative_views, average[None].to(negative_views.device)])


def learn_word(
    clip: ClipModel,
    kind: str,
    shots: Sequence[Image.Image],
    negatives: Sequence[Image.Image] = (),
    init: torch.Tensor | None = None,
    settings: LearnSettings = LearnSettings(),
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    library: np.ndarray | None = None,
    inverter: Inverter | None = None,
) -> tuple[torch.Tensor, dict]:
    """`tune_word` from photos given as images: their views are drawn by position."""
    if not shots:
        raise BadConcept("give at least one photo of the concept")
    progress = progress or no_progress
    keys = [f"shot {i}" for i in range(len(shots))] + [
        f"negative {i}" for i in range(len(negatives))
    ]
    encoded = encode_views(clip, [*shots, *negatives], keys, settings, cancel, progress)
    views, negative_views = split_views(encoded, len(shots), settings)
    return tune_word(
        clip,
        kind,
        views,
        negative_views,
        init,
        settings,
        progress,
        cancel,
        library=library,
        inverter=inverter,
    )


def tune_word(
    clip: ClipModel,
    kind: str,
    views: torch.Tensor,
    negative_views: torch.Tensor,
    init: torch.Tensor | None = None,
    settings: LearnSettings = LearnSettings(),
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    library: np.ndarray | None = None,
    inverter: Inverter | None = None,
) -> tuple[torch.Tensor, dict]:
    """Tune a word for "<kind> *" from the shots' encoded views (`views.encode_views`);
    returns it (CPU float32) and stats.

    It starts from `init` when given, else from the inverter's guess at the shots'
    embeddings when there is an inverter, else from the kind word. `library`: the mean
    embedding of the user's photos (see the module docstring).
    """
    if not len(views):
        raise BadConcept("give at least one photo of the concept")
    progress = progress or no_progress
    started = time.perf_counter()
    contrast = _contrast(negative_views, library if settings.library_contrast else None)
    tokens = clip.tokenize([fill(t, concept_slot(kind)) for t in settings.templates])
    with torch.no_grad():
        super_word = settings.super_concept or kind
        super_texts = clip.encode_prompts([fill(t, super_word) for t in settings.templates], None)
    origin = "given" if init is not None else "inverter" if inverter else "kind word"
    if init is None and inverter is not None:
        init = inverter.predict(photo_rows(views, settings).cpu().numpy())
    start = kind_word(clip, kind) if init is None else torch.as_tensor(init)
    if start.shape != (clip.word_width,):
        raise ValueError(f"init has shape {tuple(start.shape)}, expected ({clip.word_width},)")
    word = start.detach().float().to(clip.device).clone().requires_grad_(True)
    similarity_first = _similarity(clip, tokens, word, views)
    losses = _tune(clip, word, tokens, super_texts, views, contrast, settings, progress, cancel)
    stats = {
        "steps": settings.steps,
        "loss_first": round(losses[0], 4) if losses else None,
        "loss_last": round(losses[-1], 4) if losses else None,
        "similarity_first": round(similarity_first, 4),
        "similarity_last": round(_similarity(clip, tokens, word, views), 4),
        "init": origin,
        "views": len(views),
        "negative_views": len(negative_views),
        "library_contrast": len(contrast) > len(negative_views),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return word.detach().float().cpu(), stats


def learn_concept(
    clip: ClipModel,
    kind: str,
    shots: Sequence[Image.Image],
    negatives: Sequence[Image.Image] = (),
    inverter: Inverter | None = None,
    library: np.ndarray | None = None,
    settings: LearnSettings = LearnSettings(),
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """Stage 2 as the app runs it, from photos given as images (the evaluations that hold
    images; the app keeps its photos' views in a `ViewCache` and calls `tune_word`): from
    `start` when given (re-tuning), else f_θ's first guess when there is an inverter, else the
    kind word; the library's average photo is a contrast when there is a library and the
    settings ask for it."""
    return learn_word(
        clip,
        kind,
        shots,
        negatives,
        start,
        settings,
        progress,
        cancel,
        library=library,
        inverter=inverter,
    )
