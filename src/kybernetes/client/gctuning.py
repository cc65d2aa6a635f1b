"""Cyclic garbage collector settings for long-running components that cache many decoded objects.

CPython's defaults (a young collection every 700 net container allocations, a full one whenever a quarter of the
heap is new) are tuned for small heaps.  An informer cache holds hundreds of thousands of dicts and lists, and a
watch event allocates a new tree for every change, so with the defaults the collector walks the whole cache again
and again although JSON trees never form cycles.  :func:`tune` makes young collections rarer (short-lived event
trees are freed by reference counting before a collection sees them); :func:`freeze` moves everything alive now
(modules, the first lists of every informer) out of the collector's reach.  Neither changes what is freed: cycles
are still collected, only later.
"""

from __future__ import annotations

import gc

#: (young, middle, old) thresholds: a young collection per 10,000 net allocations instead of 700
THRESHOLDS = (10_000, 10, 10)


def tune(thresholds: tuple[int, int, int] = THRESHOLDS) -> None:
    """Raise the collection thresholds (process-wide)."""
    gc.set_threshold(*thresholds)


def freeze() -> None:
    """Collect once, then exempt every surviving object from later collections (``gc.freeze``); call it when
    the caches are first filled.  Frozen objects are still freed by reference counting."""
    gc.collect()
    gc.freeze()
