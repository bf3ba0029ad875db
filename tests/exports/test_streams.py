"""The read-ahead of chunked readers: order kept whatever order the threads finish in,
errors raised to the consumer after the chunks before them, and a consumer that stops early
stops the reader threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from thumbs.kit.streams import read_ordered


def slow_reader(i: int, started: list[int]) -> Callable[[], int]:
    def read() -> int:
        started.append(i)
        time.sleep(0.002 * (i % 3))  # later chunks may finish first
        return i

    return read


def test_chunks_arrive_in_order_and_the_readers_stay_ahead_by_at_most_workers_plus_depth() -> None:
    started: list[int] = []
    made: list[int] = []

    def readers() -> Iterator[Callable[[], int]]:
        for i in range(50):
            made.append(i)
            yield slow_reader(i, started)

    seen = []
    for item in read_ordered(readers(), workers=2, depth=1):
        time.sleep(0.001)
        assert len(made) - len(seen) <= 2 + 1
        seen.append(item)
    assert seen == list(range(50))
    assert sorted(started) == list(range(50))


def test_an_error_of_a_reader_is_raised_to_the_consumer_after_the_chunks_before_it() -> None:
    def fail() -> int:
        raise RuntimeError("the database went away")

    stream = read_ordered(iter([lambda: 1, lambda: 2, fail, lambda: 4]), workers=2)
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(RuntimeError, match="went away"):
        next(stream)


def test_an_error_while_cutting_the_chunks_comes_after_the_chunks_cut_before_it() -> None:
    def readers() -> Iterator[Callable[[], int]]:
        yield lambda: 1
        yield lambda: 2
        raise RuntimeError("the keys could not be read")

    stream = read_ordered(readers(), workers=2, depth=2)
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(RuntimeError, match="keys could not"):
        next(stream)


def test_a_consumer_that_stops_early_stops_the_readers() -> None:
    closed = threading.Event()

    def readers() -> Iterator[Callable[[], int]]:
        try:
            i = 0
            while True:
                yield (lambda i=i: i)
                i += 1
        finally:
            closed.set()

    stream = read_ordered(readers(), workers=2, depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(timeout=10)
    threads = [t for t in threading.enumerate() if t.name.startswith("thumbs-read-ahead")]
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
