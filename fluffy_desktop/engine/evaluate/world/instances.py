"""The instance loss: the world model learns that one thing stays itself wherever it is.

A user's album asks the photos alone to tell an individual from a look-alike of the same kind
in the same place. Captions never ask that: two photos of one cat are just two captions. So a
share of each training batch is drawn in *instance groups*: a training individual and a
same-kind look-alike (the same body colour, or the same pattern and pattern colour), each shown
in the same two places, sometimes with company. Each photo of a group must find the other
photo of its own individual among all the batch's photos (an InfoNCE over photo embeddings, at
a fixed temperature, as SLIP does), so place and company cannot be what matches and the thing's
own look, quirk included, must be. Held-out combinations never appear: every individual and
companion is a training one.

`fluffy eval world train --instances 1` turns it on. It is not in the shipped recipe: measured
on the world, the photos told individuals apart better but the learned words and the albums
gained less than the spread across seeds (README, "Tried: an instance loss").
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from fluffy_desktop.engine.evaluate.world.gallery import look_alikes, with_company
from fluffy_desktop.engine.evaluate.world.places import PLACES
from fluffy_desktop.engine.evaluate.world.scene import Scene, scene_of
from fluffy_desktop.engine.evaluate.world.things import Individual, is_held_out, random_individual

GROUP = 4  # photos per group: two individuals, each in the same two places
NO_OWNER = -1  # a photo outside every group: a rival only
TEMPERATURE = 0.1


def _look_alike(individual: Individual, rng: random.Random) -> Individual:
    """A training look-alike of the individual: same kind, one named attribute shared."""
    while True:
        found = [o for o in look_alikes(individual, rng) if not is_held_out(o.combination)]
        if found:
            return rng.choice(found)


def _photo(individual: Individual, place: str, rng: random.Random) -> Scene:
    """The individual in this place, sometimes with a training thing of another kind on
    either side of it (always on the same side would teach the model that a photo's identity
    is whatever stands on that side)."""
    return scene_of(with_company(individual, rng, held_out=False), place, rng)


def instance_group(rng: random.Random) -> list[Scene]:
    """Individual, individual, look-alike, look-alike: each pair in the same two places."""
    individual = random_individual(rng)
    other = _look_alike(individual, rng)
    places = rng.sample(PLACES, 2)
    return [_photo(thing, place, rng) for thing in (individual, other) for place in places]


def group_owners(groups: int, others: int) -> list[int]:
    """Per photo of a batch (the groups' photos first): its individual's number, or NO_OWNER."""
    return [position // 2 for position in range(groups * GROUP)] + [NO_OWNER] * others


def instance_loss(images: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
    """Each owned photo's cross-entropy for its partner among all other photos (images
    normalised; every owner appears exactly twice)."""
    owned = (owners != NO_OWNER).nonzero().squeeze(1)
    if len(owned) == 0:
        return images.sum() * 0.0
    itself = owned[:, None] == torch.arange(len(owners))
    logits = (images[owned] @ images.T / TEMPERATURE).masked_fill(itself, float("-inf"))
    same = (owners[owned, None] == owners[None, :]) & ~itself
    return F.cross_entropy(logits, same.float().argmax(dim=1))
