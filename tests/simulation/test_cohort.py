import pytest

from eas.simulation.cohort import ITEM_BY_ITEM_WEIGHT, expected_texts, make_cohort, split_cohort

ZONES = ["America/New_York", "Europe/London"]
COMPACT = {"questionnaires": [{"id": "q", "compact_replies": True}]}
ITEM_BY_ITEM = {"questionnaires": [{"id": "q"}]}


def test_compact_repliers_weigh_a_quarter_only_where_the_protocol_allows_compact_replies():
    people = make_cohort(1, 40, ZONES, 14)
    compact = [p.compact for p in people]
    assert any(compact) and not all(compact)
    assert expected_texts(people, COMPACT) == [1 if c else ITEM_BY_ITEM_WEIGHT for c in compact]
    assert set(expected_texts(people, ITEM_BY_ITEM)) == {ITEM_BY_ITEM_WEIGHT}


def test_a_cohort_no_larger_than_a_shard_is_one_shard():
    people = make_cohort(1, 100, ZONES, 14)
    assert split_cohort(people, 100, COMPACT) == [people]


def test_without_compact_replies_everyone_weighs_the_same_and_shards_are_even():
    people = make_cohort(1, 250, ZONES, 14)
    shards = split_cohort(people, 100, ITEM_BY_ITEM)
    assert [len(s) for s in shards] == [84, 83, 83]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shards_are_consecutive_people_cut_where_their_texts_balance(seed):
    people = make_cohort(seed, 200, ZONES, 14)
    shards = split_cohort(people, 100, COMPACT)
    assert [p for shard in shards for p in shard] == people  # every person once, in order
    first, second = (sum(expected_texts(shard, COMPACT)) for shard in shards)
    # Within one heaviest person of even.
    assert abs(first - second) <= ITEM_BY_ITEM_WEIGHT


def test_compact_repliers_make_lighter_shards_larger():
    people = make_cohort(1, 200, ZONES, 14)
    for n, person in enumerate(people):
        person.compact = n < 100  # the first half answers in compact replies
    light, heavy = split_cohort(people, 100, COMPACT)
    assert len(light) > 100 > len(heavy)


def test_every_shard_keeps_at_least_one_person():
    people = make_cohort(1, 5, ZONES, 14)
    for person in people:
        person.compact = False
    people[0].compact = True
    shards = split_cohort(people, 1, COMPACT)
    assert [len(s) for s in shards] == [1, 1, 1, 1, 1]
