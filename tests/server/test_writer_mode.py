"""Where a server's creates are written (``THUMBS_WRITER_MODE``): ``auto`` is a writer
process under ``thumbs serve`` (bench/README.md, 2026-12-01), the group commit in the
process itself for an app built in-process; a mode asked for is kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import sqlite_settings
from thumbs.config import Settings
from thumbs.runtime import Runtime, served_settings
from thumbs.store.writer_process import ProcessWriter

POSTGRES = "postgresql://thumbs@127.0.0.1:5432/nowhere"


def test_auto_is_a_writer_process_under_thumbs_serve_on_either_store(tmp_path: Path) -> None:
    for settings in (sqlite_settings(tmp_path / "t.db"), Settings(database_url=POSTGRES)):
        assert served_settings(settings).writer_mode == "process"


@pytest.mark.parametrize("mode", ["inline", "thread", "process"])
def test_a_mode_asked_for_is_kept_under_thumbs_serve(mode: str) -> None:
    settings = Settings(database_url=POSTGRES, writer_mode=mode)
    assert served_settings(settings) is settings


def test_an_app_built_in_process_writes_on_its_event_loop_on_sqlite(tmp_path: Path) -> None:
    runtime = Runtime.build(sqlite_settings(tmp_path / "t.db"))
    try:
        assert not isinstance(runtime.writer, ProcessWriter)
        assert runtime.writer.inline
    finally:
        runtime.store.dispose()
    served = Runtime.build(served_settings(sqlite_settings(tmp_path / "u.db")))
    try:
        assert isinstance(served.writer, ProcessWriter)
    finally:
        served.store.dispose()
