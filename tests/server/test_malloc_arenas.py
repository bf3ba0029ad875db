"""A server process lets glibc's malloc use at most ``THUMBS_MALLOC_ARENAS`` arenas: with
an arena per thread (up to eight per core) its memory kept growing under load
(bench/README.md, "Mixed workload")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from thumbs.kit import malloc

pytestmark = pytest.mark.skipif(not malloc.glibc(), reason="arenas are glibc's")

# A fresh process (a thread keeps its arena, and the bound holds from its first use): a
# server's runtime starts, then eight threads allocate while all are alive, as a loaded
# server's worker threads do; prints the arenas glibc's malloc_info then reports.
SERVER_THREADS = textwrap.dedent(
    """
    import ctypes, sys, tempfile, threading
    from pathlib import Path
    from thumbs.config import Settings
    from thumbs.runtime import Runtime

    folder = Path(sys.argv[1])
    settings = Settings(
        database_url=f"sqlite:///{(folder / 't.db').as_posix()}",
        malloc_arenas=int(sys.argv[2]),
        cleanup_interval=0,
        auth_revocation_check=0,
    )
    runtime = Runtime.build(settings)
    runtime.start()
    all_alive = threading.Barrier(8)
    held = []

    def work():
        held.append(ctypes.create_string_buffer(64 * 1024))  # malloc in this thread
        all_alive.wait(timeout=30)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    libc = ctypes.CDLL(None)
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    out = folder / "malloc_info.xml"
    stream = libc.fopen(str(out).encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    runtime.stop()
    print(out.read_text().count("<heap nr="))
    """
)


def arenas_used(tmp_path: Path, setting: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SERVER_THREADS, str(tmp_path), str(setting)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


def test_a_started_runtime_bounds_the_arenas_of_its_threads(tmp_path: Path) -> None:
    assert arenas_used(tmp_path, 2) == 2


def test_zero_leaves_the_allocator_its_own_arenas(tmp_path: Path) -> None:
    # glibc's own bound is eight per core: eight threads allocating at once get more than 2
    assert arenas_used(tmp_path, 0) > 2


def test_zero_asks_nothing_of_the_allocator() -> None:
    assert malloc.limit_arenas(0) is False
