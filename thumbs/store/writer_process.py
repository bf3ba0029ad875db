"""A writer process: the group commit's batches written by a process of the server's own.

In one process the event loop and the writer share one GIL. On SQLite the batch's
statements ran on the event loop (on a thread, each statement would have waited for the GIL
behind the busy loop) and only the commit on the writer thread, so every create cost the
loop the SQL of its row and its index entries besides its HTTP work; on PostgreSQL the
writer thread's Python work (the batch's parameters, every statement's return) took the GIL
from the loop. With a writer process (``THUMBS_WRITER_MODE=process``, what ``auto`` is under
``thumbs serve``: ``thumbs.runtime.served_settings``) the
server process keeps the HTTP work, and its writer process writes the batches the way the
writer thread does (the same ``GroupCommitWriter._write``: reconnects, the per-job fallback
after a failed batch, the store-unavailable answer) with a GIL and a core of its own
(bench/README.md, "How the create path is fast").

The jobs stream: each turn of the event loop sends the jobs it received as one frame; the
writer process makes everything that arrived while it wrote the last batch its next batch
(at most ``THUMBS_WRITE_BATCH_MAX`` jobs), so it never waits for the server's loop to turn
before it starts the next one, and batches grow with the load. Each batch is answered with
one frame, in the order the jobs were sent. A frame is an 8-byte length and a pickle over a
socket pair; the first carries the settings and the import path of the factory of the job
kinds (the kinds live above the store: ``thumbs.feedback.jobs.process_kinds``). A job and
its result cross as plain tuples (``JobKind.to_wire`` and the others: several times cheaper
to pickle than the objects); the server's caches stay in the server (a create names the end
user its server already knows; the answer names the end user the batch read, which the
server remembers after the commit). An error crosses as it was raised, or, if it cannot
(a driver's error that does not pickle), as what it means to a client: the store
unavailable (503), otherwise an error of the server (500).

What a client is told stays true:
- a create is answered only after the writer process committed it (``synchronous=FULL``
  on SQLite): acknowledged means durable;
- if the writer process dies, every write it was sent and has not answered is answered
  503 (each may or may not have committed, as when a whole server dies: a retry with the
  same idempotency key replays, never duplicates) and the next write starts a new writer
  process;
- if the server dies, its writer process reads the end of its socket and exits after its
  batch;
- the writer process ignores SIGINT and SIGTERM (a Ctrl-C or a service manager's stop
  reaches the whole process group): it stops when its server, having drained, closes the
  socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine

from thumbs.config import Settings
from thumbs.kit import errors as E
from thumbs.kit.dberrors import describe, store_unavailable
from thumbs.store.engine import Store
from thumbs.store.writer import GroupCommitWriter, JobKind, _Pending

log = logging.getLogger("thumbs.writer")

J = TypeVar("J")

_HEADER = struct.Struct("<Q")
_CHUNK = 1 << 20
# how long stop() waits for the writer process to finish its batch and exit
STOP_SECONDS = 30.0

KindsFactory = Callable[[Settings], Sequence[JobKind[Any]]]


def _frame(obj: object) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def _take_frame(buffer: bytearray) -> bytes | None:
    """The payload of the first whole frame of ``buffer``, taken out of it."""
    if len(buffer) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack_from(buffer)
    end = _HEADER.size + size
    if len(buffer) < end:
        return None
    payload = bytes(buffer[_HEADER.size : end])
    del buffer[:end]
    return payload


class ProcessWriter(GroupCommitWriter):
    """A :class:`GroupCommitWriter` whose batches a writer process writes. ``kinds`` is
    the import path (``module:function``) of the factory of the writer process's job
    kinds; a job is sent to the kind of its kind's ``name`` there. ``submit_sync`` (the
    CLI, tests) still writes in its caller's thread, on ``engine``."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Settings,
        kinds: str,
        max_batch: int = 1024,
        max_queue: int = 10_000,
    ) -> None:
        super().__init__(engine, max_batch=max_batch, inline=False, max_queue=max_queue)
        self.settings = settings
        self.kinds = kinds
        self._child: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where the socket is watched
        self._outbox: list[tuple[str, Any]] = []  # jobs of this turn of the loop, unsent
        self._unsent = bytearray()  # frames the socket did not take yet
        self._inbox = bytearray()
        # every job sent or to be sent, in order: its kind, the job, its waiter
        self._answers: deque[tuple[JobKind[Any], Any, asyncio.Future[Any]]] = deque()
        self._sending = False  # a send is scheduled on the loop
        self._watching_writes = False

    @property
    def pid(self) -> int | None:
        """The writer process's pid, while it runs."""
        return self._child.pid if self._child is not None else None

    def start(self) -> None:
        if self._child is None:
            self._spawn()

    def stop(self) -> None:
        self._forget_child(wait=True)
        super().stop()

    async def submit(self, kind: JobKind[J], job: J) -> Any:
        self._admit(len(self._answers))  # every job not answered yet, sent or not
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._outbox.append((kind.name, kind.to_wire(job)))
        self._answers.append((kind, job, future))
        if not self._sending:
            self._sending = True
            loop.call_soon(self._send, loop)
        return await future

    async def drain(self) -> None:
        self._closing = True
        if self._answers:
            self._idle = asyncio.get_running_loop().create_future()
            await self._idle

    # -- the server's side of the socket --------------------------------------------------

    def _send(self, loop: asyncio.AbstractEventLoop) -> None:
        """Once per turn of the loop: the jobs it received, as one frame."""
        self._sending = False
        if not self._outbox:
            return
        if self._child is not None and self._child.poll() is not None:
            log.warning("writer process exited (%s); started again", self._child.returncode)
            self._lost("it exited")
        if self._child is None:
            self._spawn()
        if self._loop is not loop:
            assert self._sock is not None
            self._sock.setblocking(False)
            loop.add_reader(self._sock.fileno(), self._readable)
            self._loop = loop
        self._unsent += _frame(self._outbox)
        self._outbox = []
        self._pump()

    def _pump(self) -> None:
        """Send what the socket takes now; watch it for room for the rest."""
        assert self._sock is not None
        assert self._loop is not None
        try:
            sent = self._sock.send(self._unsent)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._lost(type(exc).__name__)
            return
        del self._unsent[:sent]
        if self._unsent and not self._watching_writes:
            self._loop.add_writer(self._sock.fileno(), self._pump)
            self._watching_writes = True
        elif not self._unsent and self._watching_writes:
            self._loop.remove_writer(self._sock.fileno())
            self._watching_writes = False

    def _readable(self) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._lost("its socket closed")
            return
        self._inbox += chunk
        while (payload := _take_frame(self._inbox)) is not None:
            seconds, answers = pickle.loads(payload)  # noqa: S301 - from our writer process
            self.batches += 1
            self.jobs += len(answers)
            self.write_seconds += seconds
            for result, error in answers:
                kind, job, future = self._answers.popleft()
                if error is not None:
                    if not future.done():
                        future.set_exception(error)
                    continue
                answer = kind.result_from_wire(job, result)
                kind.committed([job])
                if not future.done():
                    future.set_result(answer)
        self._idle_if_done()

    def _idle_if_done(self) -> None:
        if not self._answers and self._idle is not None and not self._idle.done():
            self._idle.set_result(None)

    def _lost(self, why: str) -> None:
        """The writer process is gone: every job sent to it and not answered is answered
        503 (whether its batch committed is unknown, as when a server dies); the jobs not
        sent yet (the last ones) go to the next writer process."""
        sent = len(self._answers) - len(self._outbox)
        if sent:
            log.warning("writer process lost (%s); %d waiting writes answered 503", why, sent)
        failure = E.StoreUnavailable("The writer stopped while writing; retry shortly")
        for _ in range(sent):
            _, _, future = self._answers.popleft()
            if not future.done():
                future.set_exception(failure)
        self._forget_child()
        self._idle_if_done()

    # -- the writer process's lifetime ---------------------------------------------------

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", "thumbs.store.writer_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        # small enough for the socket's buffer: never blocks
        ours.sendall(_frame((self.settings, self.kinds, self.max_batch)))
        self._sock = ours

    def _forget_child(self, *, wait: bool = False) -> None:
        """Close the socket (the writer process exits after its batch) and let the
        process go; with ``wait``, wait for it to exit (shutdown)."""
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
                if self._watching_writes:
                    self._loop.remove_writer(self._sock.fileno())
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        self._loop = None
        self._watching_writes = False
        self._unsent.clear()
        self._inbox.clear()
        child, self._child = self._child, None
        if child is None:
            return
        if wait:
            try:
                child.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("writer process %d did not exit; killed", child.pid)
                child.kill()
                child.wait()
        elif child.poll() is None:
            child.kill()  # what it held was given up: it must not write it later
            child.wait()


# -- the writer process ---------------------------------------------------------------------


def _portable(error: BaseException | None) -> BaseException | None:
    """The error as the server process can raise it."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301
    except Exception:
        if store_unavailable(error):
            return E.StoreUnavailable()
        return RuntimeError(f"the writer process failed: {describe(error)}")
    return error


def _factory(path: str) -> KindsFactory:
    module, _, name = path.partition(":")
    factory: KindsFactory = getattr(importlib.import_module(module), name)
    return factory


def _receive(sock: socket.socket, buffer: bytearray, *, wait: bool) -> bool:
    """Append what the server sent to ``buffer`` (with ``wait``, block until something
    came); False at the end of the socket."""
    while True:
        try:
            chunk = sock.recv(_CHUNK, 0 if wait else socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        buffer += chunk
        if wait:
            return True


def _next_frame(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """The next whole frame the server sent, waited for; None once the socket ended."""
    while (frame := _take_frame(buffer)) is None:
        if not _receive(sock, buffer, wait=True):
            return None
    return frame


def serve(sock: socket.socket) -> None:
    """The writer process: every job the server sent while the last batch was written
    becomes the next batch (at most ``max_batch`` jobs); answered once it committed; until
    the server closes the socket (after every job it sent is written)."""
    buffer = bytearray()
    first = _next_frame(sock, buffer)
    if first is None:
        return
    settings, kinds_path, max_batch = pickle.loads(first)  # noqa: S301 - from our server
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:     thumbs writer: %(message)s"
    )
    store = Store.of(settings)
    kinds = {kind.name: kind for kind in _factory(kinds_path)(settings)}
    writer = GroupCommitWriter(store.engine, inline=False)
    gc.collect()
    gc.freeze()
    try:
        while (frame := _next_frame(sock, buffer)) is not None:
            _receive(sock, buffer, wait=False)  # and whatever else was sent meanwhile
            jobs = pickle.loads(frame)  # noqa: S301 - from our server
            while len(jobs) < max_batch and (frame := _take_frame(buffer)) is not None:
                jobs.extend(pickle.loads(frame))  # noqa: S301 - from our server
            for start in range(0, len(jobs), max_batch):  # a frame may hold more
                _write(writer, kinds, jobs[start : start + max_batch], sock)
    except BrokenPipeError:
        pass  # the server is gone; the batch committed, unanswered, as if it had died
    finally:
        writer.stop()
        store.dispose()


def _write(
    writer: GroupCommitWriter,
    kinds: dict[str, JobKind[Any]],
    jobs: list[tuple[str, Any]],
    sock: socket.socket,
) -> None:
    started = time.perf_counter()
    batch: list[_Pending[Any]] = [
        _Pending(kind=kinds[name], job=kinds[name].from_wire(wire), future=None)
        for name, wire in jobs
    ]
    writer._write(batch)
    answers = [
        (None, _portable(p.error))
        if p.error is not None
        else (p.kind.result_to_wire(p.job, p.result), None)
        for p in batch
    ]
    sock.sendall(_frame((time.perf_counter() - started, answers)))


def main(fd: int) -> None:
    """The writer process's entry: it stops when its server closes the socket, never on a
    signal meant for the process group (a Ctrl-C, a service manager's stop)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main(int(sys.argv[1]))
