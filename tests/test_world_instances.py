"""The world model's instance loss: groups of one individual and a look-alike, and the loss."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from fluffy_desktop.engine.evaluate.world.instances import (
    GROUP,
    NO_OWNER,
    group_owners,
    instance_group,
    instance_loss,
)
from fluffy_desktop.engine.evaluate.world.scene import Scene
from fluffy_desktop.engine.evaluate.world.things import Individual, is_held_out


def _shared(one: Scene, other: Scene) -> Individual:
    """The individual both photos show (their company differs)."""
    (found,) = {p.individual for p in one.things} & {p.individual for p in other.things}
    return found


def test_a_group_shows_an_individual_and_a_training_look_alike_each_in_the_same_two_places():
    rng = random.Random(6)
    for _ in range(200):
        group = instance_group(rng)
        assert len(group) == GROUP
        first, second = _shared(group[0], group[1]), _shared(group[2], group[3])
        assert first.kind == second.kind and first.combination != second.combination
        shared_pattern = (first.pattern, first.pattern_colour) == (
            second.pattern,
            second.pattern_colour,
        )
        assert first.colour == second.colour or shared_pattern
        assert [s.place for s in group[:2]] == [s.place for s in group[2:]]
        assert group[0].place != group[1].place
        things = [placed.individual for scene in group for placed in scene.things]
        assert not any(is_held_out(thing.combination) for thing in things)


def test_company_stands_on_either_side_of_the_individual():
    rng = random.Random(7)
    sides = []
    for _ in range(100):
        group = instance_group(rng)
        own = _shared(group[0], group[1])
        sides += [s.things[0].individual == own for s in group[:2] if len(s.things) == 2]
    assert 0.3 < sum(sides) / len(sides) < 0.7


def test_owners_pair_each_groups_photos_and_leave_the_rest_unowned():
    assert group_owners(2, 3) == [0, 0, 1, 1, 2, 2, 3, 3] + [NO_OWNER] * 3


def test_the_loss_is_low_when_partners_match_and_high_when_they_do_not():
    owners = torch.tensor(group_owners(8, 16))
    identity = F.normalize(torch.randn(16, 64), dim=-1)
    rivals = F.normalize(torch.randn(16, 64), dim=-1)
    paired = torch.cat([identity.repeat_interleave(2, dim=0), rivals])
    crossed = torch.cat([identity.repeat(2, 1), rivals])  # partners are different things
    assert float(instance_loss(paired, owners)) < 0.1 < 2 < float(instance_loss(crossed, owners))


def test_unowned_photos_are_rivals_only_and_a_batch_without_groups_adds_nothing():
    images = F.normalize(torch.randn(12, 32), dim=-1)
    unowned = torch.full((12,), NO_OWNER)
    assert float(instance_loss(images, unowned)) == 0.0
    owners = torch.tensor(group_owners(1, 8))
    far = torch.cat([images[:1].repeat(4, 1), -images[:1].repeat(8, 1)])
    near = torch.cat([images[:1].repeat(4, 1), images[:1].repeat(8, 1)])
    assert float(instance_loss(far, owners)) < float(instance_loss(near, owners))
