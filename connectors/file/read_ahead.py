"""Read a file's batches in a second process while this one works on the batches before.

:func:`read_ahead` runs the one read path (e.g. :func:`~.rows.read_csv_columns`) in a forked
child and yields its batches in order; the bad rows the child met are told to
``on_bad_row`` in the order and at the points the read in this process would have told
them (before the batch they precede). Nothing is read differently: should the child fail
(a file that cannot be opened or decoded, say), this process reads the file itself, passes
over the batches already yielded and fails, or goes on, as the read in this process would.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from icpsync.connectors.file.rows import OnBadRow

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")
Read = Callable[[OnBadRow], Iterator[T]]

#: Files smaller than this are read in this process (a child costs a few milliseconds).
MIN_BYTES = 8 << 20
#: Cores left idle (the CPUs this process may use less the 1-minute load average) needed.
FREE_CORES = 1.0
_DONE, _FAILED = b"done", b"failed"


def worth_reading_ahead(size: int) -> bool:
    """True when a file of ``size`` bytes is big enough and a core is free for the child:
    reading ahead costs about a third more CPU in all, and on a busy machine the two
    processes then take longer than one."""
    free = len(os.sched_getaffinity(0)) - os.getloadavg()[0]
    return size >= MIN_BYTES and free >= FREE_CORES


def read_ahead(read: Read[T], on_bad_row: OnBadRow) -> Generator[T, None, None]:
    """``read(on_bad_row)``'s items, read by a forked child process."""
    import multiprocessing

    for stream in (sys.stdout, sys.stderr):  # else the child would write their buffers too
        stream.flush()
    receiver, sender = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_produce, args=(read, sender), daemon=True
    )
    child.start()
    sender.close()
    passed = 0
    try:
        while True:
            message = receiver.recv_bytes()
            if message in (_DONE, _FAILED):
                break
            bad_rows, item = pickle.loads(message)
            for reason, number in bad_rows:
                on_bad_row(reason, number)
            passed += 1
            yield item
        if message == _DONE:
            for reason, number in pickle.loads(receiver.recv_bytes()):
                on_bad_row(reason, number)
            return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()
    yield from _after(read, on_bad_row, passed)


def _after(read: Read[T], on_bad_row: OnBadRow, passed: int) -> Iterator[T]:
    """The read in this process, from item ``passed`` on (the child's failure, if any,
    happens here again with its message)."""
    told: list[tuple[str, int]] = []
    items = read(lambda reason, number: told.append((reason, number)))
    for _ in range(passed):
        next(items)
        told.clear()
    try:
        for item in items:
            for reason, number in told:
                on_bad_row(reason, number)
            told.clear()
            yield item
    finally:  # the bad rows told before the end, or before the failure
        for reason, number in told:
            on_bad_row(reason, number)


def _produce(read: Read[Any], sender: Connection) -> None:
    """In the child: send each item with the bad rows told before it, then the rest."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles an interrupt
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and ends the child with this
    told: list[tuple[str, int]] = []
    try:
        for item in read(lambda reason, number: told.append((reason, number))):
            sender.send_bytes(pickle.dumps((told, item), protocol=pickle.HIGHEST_PROTOCOL))
            told.clear()
    except BaseException:  # read again by the parent, which fails the same way
        sender.send_bytes(_FAILED)
    else:
        sender.send_bytes(_DONE)
        sender.send_bytes(pickle.dumps(told, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        sender.close()
