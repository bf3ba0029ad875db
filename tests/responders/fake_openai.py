"""A small OpenAI-compatible chat-completions server on loopback, in a thread.

The first path segment picks its behaviour: ``/ok/v1`` answers (echoing the last user
message), ``/slow/v1`` stalls until released, ``/unauthorized/v1`` answers 401,
``/forbidden/v1`` 403, ``/broken/v1`` 500, ``/garbage/v1`` invalid JSON with status 200,
``/nochoices/v1`` valid JSON without ``choices``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    peer: tuple[str, int] = ("", 0)  # the client's address: one port per connection


@dataclass
class FakeOpenAI:
    server: ThreadingHTTPServer
    release: threading.Event
    seen: list[Seen] = field(default_factory=list)

    def base_url(self, mode: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/{mode}/v1"


def start() -> FakeOpenAI:
    release = threading.Event()
    seen: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            mode = self.path.strip("/").split("/")[0]
            seen.append(
                Seen(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw),
                    peer=(str(self.client_address[0]), int(self.client_address[1])),
                )
            )
            if not self.path.endswith("/v1/chat/completions"):
                self._send(404, b'{"error": {"message": "no such route"}}')
            elif mode == "ok":
                question = json.loads(raw)["messages"][-1]["content"]
                answer = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": f"echo: {question}"},
                            "finish_reason": "stop",
                        }
                    ],
                }
                self._send(200, json.dumps(answer).encode())
            elif mode == "slow":
                release.wait(timeout=10)
                self._send(200, b"{}")
            elif mode == "unauthorized":
                self._send(401, b'{"error": {"message": "Incorrect API key provided"}}')
            elif mode == "forbidden":
                self._send(403, b'{"error": {"message": "no access to this model"}}')
            elif mode == "broken":
                self._send(500, b'{"error": {"message": "the model crashed"}}')
            elif mode == "garbage":
                self._send(200, b"<html>this is not json")
            elif mode == "nochoices":
                self._send(200, b'{"object": "chat.completion", "choices": []}')
            else:
                self._send(404, b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return FakeOpenAI(server=server, release=release, seen=seen)


@contextmanager
def serving() -> Iterator[FakeOpenAI]:
    """A fake endpoint for the time of a ``with`` block (the tests' fixtures)."""
    srv = start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.server.shutdown()
        srv.server.server_close()
