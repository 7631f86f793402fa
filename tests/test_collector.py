"""The collector's settings while runs are open, and after (one collector per process)."""

from __future__ import annotations

import gc

from icpsync.engine.collector import GC_THRESHOLD, fewer_collections


def test_thresholds_are_restored_after_a_block() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before


def test_overlapping_blocks_restore_the_settings_from_before_the_first() -> None:
    # Two syncs on the scheduler's threads: the first to end must not restore for the other,
    # and the last must not restore the other's lowered threshold.
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == GC_THRESHOLD
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_restored_when_the_block_raises() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("run failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
