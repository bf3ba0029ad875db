"""SQLite's write lock between processes (``thumbs.store.writelock.ProcessLock``): the
processes writing one file take it in turn, a process that writes batch after batch never
starves another, a wait ends at its timeout and leaves nothing held, and the lock of a
process that dies is free at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.store.kinds import engine_with_table, stored
from thumbs.store import writelock
from thumbs.store.writelock import FairLock, ProcessLock, lock_for

# Another process on the same lock file, driven line by line through its stdin and stdout.
PEER = textwrap.dedent(
    """
    import fcntl, sys, time
    from thumbs.store.writelock import ProcessLock

    lock = ProcessLock(sys.argv[1])
    for line in sys.stdin:
        command, *args = line.split()
        if command == "take":
            print("taken" if lock.acquire(float(args[0])) else "refused", flush=True)
        elif command == "gate":  # stand at the gate, as a process waiting for its turn does
            fcntl.lockf(lock._file(), fcntl.LOCK_EX, 1, 0)
            print("at the gate", flush=True)
        elif command == "release":
            lock.release()
            print("released", flush=True)
        elif command == "loop":
            # take it, mark the log, hold it a moment, release, at once again: until told
            with open(args[0], "a") as log:
                print("looping", flush=True)
                while not sys.stdin.closed:
                    assert lock.acquire(10)
                    log.write("P"); log.flush()
                    time.sleep(0.005)
                    lock.release()
    """
)


class Peer:
    def __init__(self, lock_file: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PEER, str(lock_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def say(self, line: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def granted_once_released(lock: ProcessLock, peer: Peer) -> None:
    """A wait of ours for the lock the peer holds ends, granted, when the peer releases it."""
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(lock.acquire(30)))
    waiter.start()
    assert peer.say("release") == "released"
    waiter.join(30)
    assert got == [True]


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite-lock"


@pytest.fixture
def peer(lock_file: Path) -> Iterator[Peer]:
    p = Peer(lock_file)
    yield p
    p.stop()


def test_a_lock_another_process_holds_is_refused_then_granted_when_released(
    lock_file: Path, peer: Peer
) -> None:
    lock = ProcessLock(str(lock_file))
    assert peer.say("take 0") == "taken"
    assert not lock.acquire(0)
    assert not lock.acquire(0.2)  # waited its timeout, and gave up
    granted_once_released(lock, peer)
    assert peer.say("take 0") == "refused"  # ours now
    lock.release()
    assert peer.say("take 0") == "taken"


def test_a_wait_given_up_leaves_nothing_held(lock_file: Path, peer: Peer) -> None:
    lock = ProcessLock(str(lock_file))
    assert peer.say("take 0") == "taken"
    assert not lock.acquire(0.1)
    assert peer.say("release") == "released"
    # the wait given up ended in this process once the lock was free, and let it go
    assert peer.say("take 30") == "taken"
    assert peer.say("release") == "released"
    assert lock.acquire(30)
    lock.release()


def test_a_process_waiting_at_the_gate_goes_before_one_that_comes_later(
    lock_file: Path, peer: Peer
) -> None:
    """The write lock is free, but another process waits for its turn: a newcomer (such as a
    writer that has just released it and wants it again) queues behind it."""
    lock = ProcessLock(str(lock_file))
    assert peer.say("gate") == "at the gate"
    assert not lock.acquire(0)
    assert not lock.acquire(0.1)


def test_the_lock_of_a_process_that_died_is_free(lock_file: Path, peer: Peer) -> None:
    lock = ProcessLock(str(lock_file))
    assert peer.say("take 0") == "taken"
    os.kill(peer.proc.pid, signal.SIGKILL)
    peer.proc.wait(30)
    assert lock.acquire(30)
    lock.release()


def test_a_process_writing_batch_after_batch_never_starves_another(
    lock_file: Path, peer: Peer, tmp_path: Path
) -> None:
    log_path = tmp_path / "turns.log"
    lock = ProcessLock(str(lock_file))
    assert peer.say(f"loop {log_path}") == "looping"
    with log_path.open("a") as log:
        for _ in range(40):
            assert lock.acquire(30)
            log.write("T")
            log.flush()
            lock.release()
    turns = log_path.read_text()
    assert turns.count("T") == 40
    # while both want it, the two processes alternate: the other one had at most one turn
    # (two on a machine too busy to wake our waiting thread within its 5 ms turn)
    # between two of ours (its first turns before ours began are not counted)
    between = turns[turns.index("T") : turns.rindex("T")].split("T")
    assert max(len(run) for run in between) <= 2, turns


def test_writes_of_two_processes_queue_on_the_file(tmp_path: Path, peer: Peer) -> None:
    """An engine's write transaction holds the file's lock from its first write to its
    commit: another process meanwhile cannot take it."""
    path = tmp_path / "db.sqlite"
    engine: Engine = engine_with_table(path)
    other = Peer(Path(str(path) + "-lock"))
    try:
        with engine.connect() as conn:
            conn.execute(text("INSERT INTO t (name) VALUES ('first')"))
            assert other.say("take 0") == "refused"
            conn.commit()
        assert other.say("take 0") == "taken"
        lock: FairLock = lock_for(str(path))
        assert not lock.acquire(0.1)  # the other process holds it: a write would wait
        assert other.say("release") == "released"
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (name) VALUES ('second')"))
        assert stored(engine) == ["first", "second"]
    finally:
        other.stop()
        engine.dispose()


def test_the_waiting_thread_ends_when_idle_and_the_next_wait_starts_another(
    lock_file: Path, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writelock, "IDLE_SECONDS", 0.05)
    lock = ProcessLock(str(lock_file))

    def waiting_threads() -> int:
        return sum(t.name == "thumbs-write-lock" and t.is_alive() for t in threading.enumerate())

    before = waiting_threads()  # other tests' locks may still have theirs
    assert peer.say("take 0") == "taken"
    assert not lock.acquire(0.1)
    assert peer.say("release") == "released"
    pause = threading.Event()
    while waiting_threads() > before:  # it finished the wait given up, then idled out
        pause.wait(0.02)
    assert peer.say("take 0") == "taken"
    granted_once_released(lock, peer)
    lock.release()
