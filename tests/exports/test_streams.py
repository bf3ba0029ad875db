"""The read-ahead of chunked readers: order kept, errors raised to the consumer, and a
consumer that stops early stops the reader thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from thumbs.kit.streams import read_ahead


def test_chunks_arrive_in_order_and_the_reader_stays_ahead_by_at_most_depth() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    seen = []
    for item in read_ahead(chunks(), depth=2):
        time.sleep(0.001)
        # the reader may hold `depth` chunks and be about to put one more
        assert len(produced) - len(seen) <= 2 + 2
        seen.append(item)
    assert seen == list(range(50))


def test_an_error_of_the_reader_is_raised_to_the_consumer_after_the_chunks_before_it() -> None:
    def chunks() -> Iterator[int]:
        yield 1
        yield 2
        raise RuntimeError("the database went away")

    stream = read_ahead(chunks())
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(RuntimeError, match="went away"):
        next(stream)


def test_a_consumer_that_stops_early_stops_the_reader() -> None:
    closed = threading.Event()

    def chunks() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    stream = read_ahead(chunks(), depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(timeout=10)
    readers = [t for t in threading.enumerate() if t.name == "thumbs-read-ahead"]
    for t in readers:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in readers)
