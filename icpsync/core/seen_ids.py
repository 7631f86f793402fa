"""The record ids a run has seen, in about eight bytes each, so a duplicate-id guard over a
million records stays small.

The newest ids sit in a set; every ``FOLD`` of them are folded into a sorted NumPy array of
their 64-bit hashes. Two different ids whose hashes collide would make the second count as
a repeat: with a million ids the odds of any collision are about 1 in 30 million.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

FOLD = 65_536


class SeenIds:
    """A set of strings that answers ``in``, ``add``, ``add_new``, ``add_new_many``,
    ``update`` and ``isdisjoint``."""

    def __init__(self, fold: int = FOLD):
        self._fold_at = max(1, fold)
        self._recent: set[str] = set()
        # the folded hashes, sorted, are ``_buffer[:_size]``; the buffer doubles when full
        self._buffer = np.empty(0, dtype=np.int64)
        self._size = 0
        self._hashes = self._buffer[:0]  # the folded hashes (a view, renewed by each fold)

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        if not self._size:
            return False
        wanted = hash(key)
        at = int(self._hashes.searchsorted(wanted))
        return at < self._size and int(self._hashes[at]) == wanted

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

    def add_new_many(self, keys: Sequence[str]) -> list[bool]:
        """:meth:`add_new` of each key in turn (a key repeated within ``keys`` is new only
        the first time); the folded ids are searched for the whole batch at once."""
        folded = self._folded(keys)
        recent = self._recent
        out: list[bool] = []
        for key, was_folded in zip(keys, folded, strict=True):
            if was_folded or key in recent:
                out.append(False)
            else:
                recent.add(key)
                out.append(True)
        if len(recent) >= self._fold_at:
            self._fold()
        return out

    def _folded(self, keys: Sequence[object]) -> list[bool]:
        """Per key: is its hash among the folded ones."""
        if not self._size or not keys:
            return [False] * len(keys)
        wanted = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        at = np.minimum(self._hashes.searchsorted(wanted), self._size - 1)
        return (self._hashes[at] == wanted).tolist()

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
        return not any(self._folded(listed))

    def _fold(self) -> None:
        """Move the recent ids' hashes into the sorted buffer, in place (no temporary the
        size of the whole buffer: those fragment the heap and RSS would grow with them)."""
        count = len(self._recent)
        needed = self._size + count
        if needed > len(self._buffer):
            grown = np.empty(max(needed, 2 * len(self._buffer), self._fold_at), dtype=np.int64)
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown
        self._buffer[self._size : needed] = np.fromiter(
            map(hash, self._recent), dtype=np.int64, count=count
        )
        self._size = needed
        self._buffer[:needed].sort()  # in place; a repeated hash does no harm to lookups
        self._hashes = self._buffer[:needed]
        self._recent.clear()
