"""A running server hands the GIL to a thread coming back from the database within a
millisecond (thumbs.runtime.GIL_SWITCH_INTERVAL), not Python's default 5 ms."""

from __future__ import annotations

import sys

from tests.support.server import LiveServer
from thumbs.runtime import GIL_SWITCH_INTERVAL


def test_a_started_server_switches_the_gil_every_millisecond(server: LiveServer) -> None:
    assert GIL_SWITCH_INTERVAL == 0.001
    assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL
