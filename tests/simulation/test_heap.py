import gc

import pytest

from eas.simulation.heap import collector_paused, long_lived_heap


def test_long_lived_heap_keeps_todays_objects_out_of_collections_until_it_ends():
    before = gc.get_freeze_count()
    survivor = [object()]
    with long_lived_heap():
        assert gc.get_freeze_count() > before  # `survivor` among them
        assert any(o is survivor for o in gc.get_objects()) is False
    assert gc.get_freeze_count() == before
    assert any(o is survivor for o in gc.get_objects())


def test_long_lived_heap_gives_the_objects_back_when_the_block_fails():
    before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), long_lived_heap():
        raise RuntimeError("the simulation failed")
    assert gc.get_freeze_count() == before


def test_long_lived_heap_leaves_what_the_process_froze_before_frozen():
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with long_lived_heap():
            pass
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()


def test_collector_paused_turns_collection_off_and_back_on():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_paused_leaves_a_collector_that_was_off_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collector_paused_turns_it_back_on_when_the_block_fails():
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("bad export")
    assert gc.isenabled()
