"""The writer process's two sides in this process's sight (``thumbs.store.writer_process``):
a :class:`ProcessWriter` with a real writer process, on the test kinds of
``tests.store.kinds``, and the writer process's loop (``serve``) run on a thread against a
socket pair this test drives."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from tests.store.kinds import ROWS, Sleepy, engine_with_table, stored
from tests.support.http import run
from thumbs.config import Settings
from thumbs.kit import errors as E
from thumbs.store.writer_process import _HEADER, ProcessWriter, _frame, _take_frame, serve

KINDS = "tests.store.kinds:process_kinds"
SLEEPY = Sleepy()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    path = tmp_path / "p.db"
    engine = engine_with_table(path)
    yield engine, Settings(database_url=f"sqlite:///{path.as_posix()}", data_dir=tmp_path)
    engine.dispose()


@pytest.fixture
def writer(database: tuple[Engine, Settings]) -> Iterator[ProcessWriter]:
    engine, settings = database
    w = ProcessWriter(engine, settings=settings, kinds=KINDS, max_queue=3)
    w.start()
    yield w
    w.stop()


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state == "Z"


def test_jobs_are_written_by_another_process_in_shared_batches(
    database: tuple[Engine, Settings],
) -> None:
    engine, settings = database
    writer = ProcessWriter(engine, settings=settings, kinds=KINDS)
    writer.start()
    pid = writer.pid
    assert pid is not None
    assert pid != os.getpid()
    # more than the socket's buffer in one turn of the loop: sent as the socket takes it
    names = [f"n{i}-" + "x" * 2000 for i in range(1000)]

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(writer.submit(ROWS, n) for n in names))

    try:
        assert run(scenario()) == [n.upper() for n in names]
        assert stored(engine) == sorted(names)
        assert writer.jobs == 1000
        assert writer.batches < 1000  # jobs sent together share a batch
        assert writer.write_seconds > 0
    finally:
        writer.stop()
    assert gone(pid)  # the writer process ends with its writer


def test_a_job_that_fails_fails_alone_with_the_error_it_raised(writer: ProcessWriter) -> None:
    async def scenario() -> list[Any]:
        await writer.submit(ROWS, "taken")
        return await asyncio.gather(
            writer.submit(ROWS, "taken"), writer.submit(ROWS, "free"), return_exceptions=True
        )

    again, free = run(scenario())
    assert isinstance(again, IntegrityError)
    assert free == "FREE"


def test_a_killed_writer_process_fails_what_it_held_and_is_replaced(
    writer: ProcessWriter, database: tuple[Engine, Settings]
) -> None:
    engine, _ = database
    first = writer.pid
    assert first is not None

    async def scenario() -> tuple[BaseException | None, str, int | None]:
        held = asyncio.ensure_future(writer.submit(SLEEPY, "held"))
        await asyncio.sleep(0.3)  # in the writer process's batch, which takes a second
        os.kill(first, signal.SIGKILL)
        try:
            await held
            failure = None
        except E.StoreUnavailable as exc:
            failure = exc
        after = await writer.submit(ROWS, "after")
        return failure, after, writer.pid

    failure, after, second = run(scenario())
    assert isinstance(failure, E.StoreUnavailable)
    assert after == "AFTER"
    assert second not in (None, first)
    assert gone(first)
    assert stored(engine) == ["after"]


def test_a_writer_process_that_died_between_writes_is_replaced_before_the_next(
    writer: ProcessWriter,
) -> None:
    first = writer.pid
    assert first is not None
    assert run(writer.submit(ROWS, "before")) == "BEFORE"
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not gone(first):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run(writer.submit(ROWS, "after")) == "AFTER"
    assert writer.pid != first


def test_past_the_queue_bound_and_after_the_drain_a_job_is_refused(
    writer: ProcessWriter, database: tuple[Engine, Settings]
) -> None:
    engine, _ = database

    async def scenario() -> tuple[list[Any], BaseException]:
        waiting = [asyncio.ensure_future(writer.submit(SLEEPY, f"s{i}")) for i in range(4)]
        await asyncio.sleep(0)  # every job submitted
        # the drain waits for every job taken, then refuses new ones
        answers = (await asyncio.gather(writer.drain(), *waiting, return_exceptions=True))[1:]
        try:
            await writer.submit(ROWS, "late")
        except E.StoreUnavailable as exc:
            return answers, exc
        raise AssertionError("a job after the drain was taken")

    answers, late = run(scenario())
    assert answers[:3] == ["S0", "S1", "S2"]
    assert isinstance(answers[3], E.StoreUnavailable)  # max_queue=3: nothing written
    assert "shutting down" in late.message
    assert stored(engine) == ["s0", "s1", "s2"]


def test_the_writer_process_loop_answers_each_batch_in_order_until_the_socket_ends(
    database: tuple[Engine, Settings],
) -> None:
    engine, settings = database
    ours, theirs = socket.socketpair()
    loop = threading.Thread(target=serve, args=(theirs,))
    loop.start()
    try:
        ours.sendall(_frame((settings, KINDS, 2)))
        ours.sendall(_frame([("test", "a"), ("test", "b"), ("test", "c")]))
        ours.sendall(_frame([("broken", "x"), ("test", "a")]))
        answers: list[Any] = []
        buffer = bytearray()
        while len(answers) < 5:
            chunk = ours.recv(1 << 16)
            assert chunk, "the writer process's loop ended early"
            buffer += chunk
            while (payload := _take_frame(buffer)) is not None:
                seconds, batch = pickle.loads(payload)
                assert seconds >= 0
                assert len(batch) <= 2  # at most max_batch jobs a batch
                answers.extend(batch)
    finally:
        ours.close()  # the end of the socket: the loop returns
        loop.join(timeout=30)
    assert not loop.is_alive()
    assert [a[0] for a in answers[:3]] == ["A", "B", "C"]
    (_, broken), (_, duplicate) = answers[3:]
    # an error that cannot be pickled crosses as an error of the server
    assert isinstance(broken, RuntimeError)
    assert "Unpicklable" in str(broken)
    assert isinstance(duplicate, IntegrityError)
    assert stored(engine) == ["a", "b", "c"]
    assert _HEADER.size == 8
