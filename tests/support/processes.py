"""The ``thumbs`` command run for real (``run_thumbs``, ``thumbs_server``), and real ``thumbs
serve`` processes for the tests that need more than the in-process server:
several servers on one database, SIGTERM and kill -9, a database that goes away. Also a
TCP forwarder the test controls (to take PostgreSQL away from a server without touching
the shared PostgreSQL itself) and a small create load generator."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.support.server import free_port
from thumbs.auth import service as auth_service
from thumbs.store.engine import Store
from thumbs.store.models import Feedback

START_TIMEOUT = 60.0


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any THUMBS_/TWILIO_ setting, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THUMBS_", "TWILIO_"))}
    env.update(values)
    return env


def run_thumbs(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "thumbs.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def thumbs_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """A ``thumbs serve`` process on a free loopback port (its log in ``log``), stopped on
    exit; yields its base URL once it answers."""
    with thumbs_servers(env, log) as (url,):
        yield url


@contextlib.contextmanager
def thumbs_servers(env: dict[str, str], *logs: Path) -> Iterator[list[str]]:
    """One ``thumbs serve`` process per log, as :func:`thumbs_server`: all are launched
    first and then waited for, so that they start side by side; yields their base URLs."""
    with contextlib.ExitStack() as stack:
        procs: list[tuple[subprocess.Popen[bytes], str, Path]] = []
        for log in logs:
            port = free_port()
            sink = stack.enter_context(log.open("wb"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "thumbs.cli", "serve", "--port", str(port)],
                env={"THUMBS_LOG_LEVEL": "warning", **env},
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
            stack.callback(_stop, proc)
            procs.append((proc, f"http://127.0.0.1:{port}", log))
        deadline = time.monotonic() + 60
        for proc, url, log in procs:
            while True:
                try:
                    httpx.get(f"{url}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, log.read_text(errors="replace")
                    assert time.monotonic() < deadline, "thumbs serve did not start"
                    time.sleep(0.1)
        yield [url for _, url, _ in procs]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def no_traceback(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr + res.stdout


class Served:
    """One ``thumbs serve`` subprocess on a loopback port; its log goes to a file."""

    def __init__(self, database_url: str, log_path: Path, **settings: str) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Served:
        """Launch the process and wait until it answers."""
        return self.launch().wait_started()

    def launch(self) -> Served:
        env = clean_env(
            THUMBS_DATABASE_URL=self.database_url,
            THUMBS_DATA_DIR=str(self.log_path.parent),
            THUMBS_LOG_LEVEL="info",
            THUMBS_HASH_PROFILE="cheap-for-tests",
            **self.settings,
        )
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "thumbs.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_started(self) -> Served:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, f"thumbs serve exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"thumbs serve did not start:\n{self.log()}"
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the process to exit by itself; its exit status."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def start_all(servers: list[Served]) -> None:
    """Launch every server, then wait for each: they start side by side."""
    for s in servers:
        s.launch()
    for s in servers:
        s.wait_started()


@contextlib.contextmanager
def serving(
    database_url: str, tmp_path: Path, count: int = 1, **settings: str
) -> Iterator[list[Served]]:
    """``count`` servers on one database, stopped (killed if need be) at the end."""
    servers = [Served(database_url, tmp_path / f"server{i}.log", **settings) for i in range(count)]
    try:
        start_all(servers)
        yield servers
    finally:
        for s in servers:
            s.close()


@dataclass(frozen=True)
class Tenant:
    sid: str
    token: str
    assistant_id: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.sid, self.token)

    @property
    def feedbacks(self) -> str:
        return f"/v1/Assistants/{self.assistant_id}/Feedbacks"


def make_tenant(database_url: str, server_url: str) -> Tenant:
    """A new account (made in the store directly) with one assistant (made over HTTP)."""
    store = Store(database_url)
    try:
        with store.session() as session:
            created = auth_service.create_account(session, name="processes")
            sid, token = created.account.sid, created.auth_token
    finally:
        store.dispose()
    res = httpx.post(
        f"{server_url}/v1/Assistants", json={"name": "bot"}, auth=(sid, token), timeout=30
    )
    assert res.status_code == 201, res.text
    return Tenant(sid=sid, token=token, assistant_id=res.json()["id"])


def stored_ids(database_url: str, ids: list[str]) -> dict[str, int]:
    """How many rows each of these feedback ids has in the store."""
    store = Store(database_url)
    counts: dict[str, int] = {}
    try:
        with store.sessions() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = session.execute(
                    select(Feedback.id, func.count())
                    .where(Feedback.id.in_(chunk))
                    .group_by(Feedback.id)
                ).all()
                counts.update({r[0]: int(r[1]) for r in rows})
    finally:
        store.dispose()
    return counts


@dataclass
class Load:
    """Creates sent by ``clients`` concurrent clients, spread over ``urls``, each with its own
    idempotency token, until stopped or until the client's server is gone: what was
    acknowledged (token -> id) and the body of every token sent, for retries."""

    urls: list[str]
    tenant: Tenant
    clients: int = 8
    acknowledged: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)
        self._thread.start()
        return self

    def wait_for(self, acknowledged: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < acknowledged:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} acknowledged"
            assert self._thread is not None
            assert self._thread.is_alive()
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=120)
        assert not self._thread.is_alive()

    @property
    def unanswered(self) -> list[str]:
        return [t for t in self.bodies if t not in self.acknowledged]

    async def _client(self, n: int) -> None:
        url = self.urls[n % len(self.urls)]
        i = 0
        async with httpx.AsyncClient(base_url=url, auth=self.tenant.auth, timeout=60) as client:
            while not self._stop.is_set():
                i += 1
                token = f"load-{n}-{i}"
                body = {
                    "session_id": f"s{n}",
                    "message_id": f"aia_msg_{n}_{i}",
                    "score": (i % 11) / 10,
                    "text": f"client {n} request {i}",
                }
                self.bodies[token] = body
                try:
                    res = await client.post(
                        self.tenant.feedbacks,
                        json=body,
                        headers={"I-Twilio-Idempotency-Token": token},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                self.statuses[res.status_code] = self.statuses.get(res.status_code, 0) + 1
                if res.status_code == 201:
                    self.acknowledged[token] = res.json()["id"]

    async def _run(self) -> None:
        await asyncio.gather(*(self._client(n) for n in range(self.clients)))


class TcpProxy:
    """A TCP forwarder on a loopback port, run in a thread of the test: ``stop()`` closes the
    listener and every forwarded connection (the database is gone for whoever uses the
    proxy), ``start()`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}
