"""Running the official Twilio Node library (npm ``twilio@5.13.1``, pinned in
tests/node/package-lock.json and installed by ``npm ci`` in scripts/test.sh) against the
live test server: TypeScript scenarios compiled with the pinned ``tsc`` (so the library's
typings really check each call), and a plain JavaScript program."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
TWILIO_VERSION = "5.13.1"
# the client must reach the loopback server directly, on the host it is given
_DROPPED_ENV = {
    "TWILIO_EDGE",
    "TWILIO_REGION",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
}


def _node(node: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``node args`` in tests/node; its stdout, or a failure with its output."""
    full = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV} | (env or {})
    done = subprocess.run(
        [node, *args], cwd=NODE_DIR, env=full, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"node {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class NodeScripts:
    node: str
    typed: Path  # the compiled TypeScript scenarios
    plain: Path  # the plain JavaScript program

    def run(self, script: Path, *args: str, env: dict[str, str]) -> Any:
        """Run ``script`` with ``args`` and return the JSON object it prints."""
        out = _node(self.node, str(script), *args, env=env)
        return json.loads(out.strip().splitlines()[-1])


def build() -> NodeScripts:
    """Check that Node and the pinned packages are there (a missing one fails the tests
    loudly: they are never skipped), then compile the TypeScript scenarios."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is not installed: the Node client tests need node and npm")
    installed = NODE_DIR / "node_modules" / "twilio" / "package.json"
    if not installed.is_file():
        pytest.fail(
            "tests/node/node_modules is missing: run `npm ci` in tests/node (scripts/test.sh does)"
        )
    version = json.loads(installed.read_text())["version"]
    if version != TWILIO_VERSION:
        pytest.fail(
            f"twilio {version} is installed in tests/node, not {TWILIO_VERSION}: run `npm ci`"
        )
    out = NODE_DIR / "build" / os.environ.get("PYTEST_XDIST_WORKER", "main")
    _node(node, "node_modules/typescript/bin/tsc", "-p", ".", "--outDir", str(out))
    return NodeScripts(node=node, typed=out / "typed.js", plain=NODE_DIR / "src" / "plain.js")
