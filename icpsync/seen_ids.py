"""The record ids a run has seen, in about eight bytes each, so a duplicate-id guard over a
million records stays small.

The newest ids sit in a set; every ``FOLD`` of them are folded into a sorted NumPy array of
their 64-bit hashes. Two different ids whose hashes collide would make the second count as
a repeat: with a million ids the odds of any collision are about 1 in 30 million.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

FOLD = 65_536


class SeenIds:
    """A set of strings that answers ``in``, ``add``, ``update`` and ``isdisjoint``."""

    def __init__(self, fold: int = FOLD):
        self._fold_at = max(1, fold)
        self._recent: set[str] = set()
        self._hashes = np.empty(0, dtype=np.int64)

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        if not len(self._hashes):
            return False
        wanted = hash(key)
        at = int(np.searchsorted(self._hashes, wanted))
        return at < len(self._hashes) and int(self._hashes[at]) == wanted

    def add(self, key: str) -> None:
        """Remember one id."""
        self._recent.add(key)
        if len(self._recent) >= self._fold_at:
            self._fold()

    def add_new(self, key: str) -> bool:
        """Remember one id; False when it was seen before."""
        if key in self:
            return False
        self.add(key)
        return True

    def update(self, keys: Iterable[str]) -> None:
        """Remember many ids."""
        self._recent.update(keys)
        if len(self._recent) >= self._fold_at:
            self._fold()

    def isdisjoint(self, keys: Iterable[object]) -> bool:
        """True when none of ``keys`` was seen."""
        listed = list(keys)
        if not self._recent.isdisjoint(listed):
            return False
        if not len(self._hashes) or not listed:
            return True
        wanted = np.fromiter(map(hash, listed), dtype=np.int64, count=len(listed))
        at = np.minimum(np.searchsorted(self._hashes, wanted), len(self._hashes) - 1)
        return not bool(np.any(self._hashes[at] == wanted))

    def _fold(self) -> None:
        hashes = np.fromiter(map(hash, self._recent), dtype=np.int64, count=len(self._recent))
        self._hashes = np.union1d(self._hashes, hashes)
        self._recent.clear()
