"""The serving process's collector settings (hub/gc_tuning.py)."""

from __future__ import annotations

import gc

from hub.gc_tuning import SERVING_THRESHOLD, tune_for_serving


def test_serving_freezes_what_exists_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    marker = [object()]  # alive now: frozen with the rest
    try:
        tune_for_serving()
        assert gc.get_threshold() == SERVING_THRESHOLD
        assert gc.get_freeze_count() > 0
        # A frozen object is in no generation a collection walks.
        assert not any(o is marker for o in gc.get_objects())
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert any(o is marker for o in gc.get_objects())
