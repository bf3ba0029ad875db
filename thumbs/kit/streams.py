"""Read-ahead for chunked readers: the next chunks are read while this one is encoded."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def read_ordered(
    readers: Iterator[Callable[[], T]], *, workers: int = 2, depth: int = 1
) -> Iterator[T]:
    """What ``readers`` read, in their order, each run by one of ``workers`` threads, up
    to ``workers + depth`` ahead of the consumer. SQLite and psycopg release the GIL while
    the database works, so the chunks are read on both cores of a small machine while the
    consumer encodes and sends. Memory holds at most ``workers + depth + 1`` results. An
    error of a reader (or of ``readers`` itself) is raised to the consumer after the
    results before it; a consumer that stops early (closes this generator) cancels what
    was not started, and the threads end when their current read does."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="thumbs-read-ahead")
    pending: deque[Future[T]] = deque()
    try:
        failure: BaseException | None = None
        while True:
            while failure is None and len(pending) < workers + depth:
                try:
                    reader = next(readers)
                except StopIteration:
                    failure = StopIteration()
                except Exception as exc:  # raised after the results before it
                    failure = exc
                else:
                    pending.append(pool.submit(reader))
            if not pending:
                break
            yield pending.popleft().result()
        if failure is not None and not isinstance(failure, StopIteration):
            raise failure
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        close = getattr(readers, "close", None)
        if close is not None:
            close()
