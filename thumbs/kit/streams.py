"""Read-ahead for chunked readers: the next chunk is read while this one is encoded."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# A reader blocked this long on a consumer that takes nothing gives up (an abandoned stream).
STALL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_END = object()


def read_ahead(chunks: Iterator[T], *, depth: int = 2) -> Iterator[T]:
    """``chunks``, produced by a thread of its own up to ``depth`` chunks ahead of the
    consumer. SQLite and psycopg release the GIL while the database works, so reading the
    next chunk overlaps with encoding and sending this one (a second core does the reading).
    Memory holds at most ``depth + 1`` chunks. An error of the reader is raised to the
    consumer; a consumer that stops early (closes this generator) stops the reader."""
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        waited = 0.0
        while not stop.is_set() and waited < STALL_SECONDS:
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                waited += 0.1
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failed(exc))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="thumbs-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = slots.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
