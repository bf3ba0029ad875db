"""How many arenas the C allocator of a server process may use (``THUMBS_MALLOC_ARENAS``).

glibc's malloc gives the threads of a process arenas of their own, up to eight per core (16
on two cores), and memory freed into one arena serves only the threads using it. A server's
worker threads come and go (anyio ends a thread idle for 10 s and starts one under load),
so over time the requests allocate in every arena: SQLite's page caches and statements, the
driver's rows, request bodies; each arena keeps what was freed into it, and the process
grew. Under the mixed benchmark on SQLite a server's resident memory rose 22 MiB in a
minute without levelling off, nearly all of it free memory held in 16 arenas; with two
arenas it levels off within the first minute (bench/README.md, "Mixed workload"). Python's
own objects live in its allocator, not in these arenas, and the threads hold the GIL for
most of their work, so few arenas cost little contention.
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter number for the most arenas (glibc's malloc.h)
M_ARENA_MAX = -8


def glibc() -> bool:
    """Whether this process runs on glibc (the only C library whose arenas this bounds)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # not a name this platform knows
        return False


def limit_arenas(count: int) -> bool:
    """Let glibc's malloc use at most ``count`` arenas in this process; ``0`` leaves the
    allocator as it is (its default, or ``MALLOC_ARENA_MAX`` from the environment). A
    thread keeps the arena it was given, so this is called before the server starts its
    threads. Returns whether the bound was applied (not on another C library)."""
    if count <= 0 or not glibc():
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
