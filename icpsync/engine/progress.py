"""A progress line on long runs, only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_printer(*, enabled: bool = True) -> Iterator[Callable[[int], None] | None]:
    """Yield a callback that redraws ``scored N accounts`` on stderr (or None off a terminal)."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return

    def show(count: int) -> None:
        sys.stderr.write(f"\rscored {count:,} accounts")
        sys.stderr.flush()

    try:
        yield show
    finally:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
