"""FastAPI's OpenTelemetry instrumentation runs only when THUMBS_TELEMETRY asks for it: off,
no request looks for the operator's providers (that look cost ~5% of a create's CPU); on,
every request is a span sent to them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Runs in a process of its own: a global tracer provider can be set only once per process.
_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, INVALID_SPAN_CONTEXT

    started = []

    class Tracer(trace.Tracer):
        def start_span(self, name, *args, **kwargs):
            started.append(name)
            return NonRecordingSpan(INVALID_SPAN_CONTEXT)

        def start_as_current_span(self, name, *args, **kwargs):
            started.append(name)
            return trace.use_span(NonRecordingSpan(INVALID_SPAN_CONTEXT))

    class Provider(trace.TracerProvider):
        def get_tracer(self, *args, **kwargs):
            return Tracer()

    trace.set_tracer_provider(Provider())

    from thumbs.app import create_app
    from thumbs.config import Settings

    app = create_app(Settings(database_url="sqlite://", telemetry=sys.argv[1] == "on"))

    async def get():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/errors")).status_code

    status = asyncio.run(get())
    print(json.dumps({"status": status, "spans": started}))
    """
)


def _spans(mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(("mode", "traced"), [("off", False), ("on", True)])
def test_requests_are_traced_only_when_telemetry_is_on(mode: str, traced: bool) -> None:
    got = _spans(mode)
    assert got["status"] == 200
    assert bool(got["spans"]) is traced
