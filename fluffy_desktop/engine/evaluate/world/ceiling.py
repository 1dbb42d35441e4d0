"""`fluffy eval world --ceiling`: how far a word can go on a model when it is given the truth.

Stage 2 learns each word from five shots. To tell its shortfall from the model's, each held-out
individual's word is also *fitted with the truth* on the album set (tagging's set: 18 photos of
the individual among 456, with fresh look-alikes and strangers): Adam steps from the kind word
so that each of its photos outscores every other photo. It is then scored on the gallery, which
it never saw: identity precision@6, and the F1 of the gallery's album at its best cut-off.
Beside it, on the same gallery: the app's word (learned from the five shots, as `eval world`
learns it), a linear probe on the photo embeddings fitted on the album set, and the five
shots' mean photo.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.concepts.learn import LearnSettings, kind_word
from fluffy_desktop.engine.evaluate.metrics import by_score, identity_precision
from fluffy_desktop.engine.evaluate.world.run import (
    Setup,
    indexed_vectors,
    learn_all,
    method_queries,
    prepared,
)
from fluffy_desktop.engine.evaluate.world.tagging import add_album_set, best_cut, scores
from fluffy_desktop.engine.query import parse_query
from fluffy_desktop.engine.tasks import Progress, no_progress

METHODS = ("app_word", "fitted_word", "probe", "mean_shot")
FIT_STEPS = 300
FIT_LR = 0.05
FIT_TEMPERATURE = 0.05
PROBE_STEPS = 300
PROBE_LR = 0.05
PROBE_DECAY = 1e-3
PROBE_SCALE = 10.0  # photo embeddings are unit vectors: widen the probe's logits


def fitted_word(
    clip: ClipModel, name: str, kind: str, photos: torch.Tensor, own: torch.Tensor
) -> torch.Tensor:
    """The query vector of "⟨Name⟩" once its word is fitted so that each own photo outscores
    all the others (a softmax over the photos per own photo); returned on the CPU."""
    photos, own = photos.to(clip.device), own.to(clip.device)
    tokens = clip.tokenize([parse_query(name, {name: kind}).prompt])
    word = kind_word(clip, kind).detach().float().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([word], lr=FIT_LR)
    for _ in range(FIT_STEPS):
        query = F.normalize(clip.encode_tokens(tokens, word[None]), dim=-1)[0]
        logits = photos @ query / FIT_TEMPERATURE
        rivals = torch.logsumexp(logits[~own], 0)
        loss = (torch.logaddexp(logits[own], rivals) - logits[own]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return F.normalize(clip.encode_tokens(tokens, word[None]), dim=-1)[0].cpu()


def probe(photos: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """The weights of a logistic regression on the photo embeddings (they rank photos)."""
    weights = torch.zeros(photos.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([weights, bias], lr=PROBE_LR)
    for _ in range(PROBE_STEPS):
        logits = photos @ weights * PROBE_SCALE + bias
        loss = F.binary_cross_entropy_with_logits(logits, own.float())
        loss = loss + PROBE_DECAY * (weights**2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return weights.detach()


def _judged(photo_scores: np.ndarray, own: np.ndarray) -> tuple[float, np.ndarray]:
    """Identity precision@k (k: the own photos) and (found, true, hits) at the best cut."""
    return identity_precision(own, photo_scores), best_cut(by_score(own, photo_scores), own.sum())


def _queries(setup: Setup, number: int, photos: torch.Tensor, own: torch.Tensor) -> dict:
    """Each method's query vector for one individual: the app's word and the mean shot as
    `eval world` makes them, the word and the probe fitted on the album set's photos."""
    made = method_queries(setup, number, [""])
    world = setup.world
    name, kind = world.names[number], world.individuals[number].kind
    return {
        "app_word": made["palavra"][0],
        "fitted_word": fitted_word(setup.album.clip(), name, kind, photos, own).numpy(),
        "probe": probe(photos, own).numpy(),
        "mean_shot": made["avgim"][0],
    }


def run_ceiling(
    seed: int = 0, spec: ModelSpec | None = None, progress: Progress | None = None
) -> dict:
    """{"seed", "methods": {method: {"identity", "precision", "recall", "f1"}}, "fitted_on",
    "scored_on", "units", "seconds"}: percent, on the gallery, pooled over the individuals."""
    progress = progress or no_progress
    started = time.perf_counter()
    with prepared(seed, spec, None, progress) as setup:
        learn_all(setup, LearnSettings(), progress)
        owners = add_album_set(setup, seed, progress)
        in_gallery = {path.resolve() for path in setup.gallery}
        album_set = [path for path in owners if path not in in_gallery]
        photos = torch.as_tensor(indexed_vectors(setup.album, album_set)).float()
        identity: dict[str, list[float]] = {method: [] for method in METHODS}
        counts = {method: np.zeros(3, dtype=int) for method in METHODS}
        individuals = len(setup.world.individuals)
        for number in range(individuals):
            progress("Fitting words with the truth", number, individuals)
            own = torch.as_tensor([owners[path] == number for path in album_set])
            truth = np.array(setup.world.owners) == number
            for method, query in _queries(setup, number, photos, own).items():
                precision, cut = _judged(setup.vectors @ query, truth)
                identity[method].append(precision)
                counts[method] += cut
        progress("Fitting words with the truth", individuals, individuals)
    methods = {
        method: {"identity": round(100.0 * float(np.mean(identity[method])), 4)}
        | scores(counts[method])
        for method in METHODS
    }
    return {
        "seed": seed,
        "methods": methods,
        "fitted_on": len(album_set),
        "scored_on": len(setup.gallery),
        "units": "percent",
        "seconds": round(time.perf_counter() - started, 1),
    }
