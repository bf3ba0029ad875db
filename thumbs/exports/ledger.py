"""What an import remembers of the rows it took, in memory that does not grow with them.

An import must tell a key met again (earlier in the file: a repeat, or a clash when the
values differ, naming the line of the first) and, in a first import, a source id that is
one of the ids it wrote itself. Held in dicts and sets, that memory grew with the file
(about 220 bytes a row: 300 MiB for 1,000,000 rows). Now:

* :class:`KeyLedger`: every key's digest, with its content's digest and its line, in a
  private temporary SQLite database of the importing process (on disk, deleted when it is
  closed; never the store imported into, so a dry run writes nothing there). The process
  holds at most its page cache, ``CACHE_KIB``; a larger ledger is read back from the file
  (the operating system's cache). A batch costs one insert (about 2 µs a row at a million
  rows; a lookup only when some key of the batch was there already), made in a thread of
  the ledger's own while the batch before is written.
* :class:`IdSighting`: the ids written, as a Bloom filter of a fixed size. It may say yes to
  an id never added, never no to one added: a yes is only a reason to look the id up in
  the store, which answers exactly.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thumbs.exports.parsing import Parsed

CACHE_KIB = 32 << 10  # the ledger's page cache: what it holds in memory at most
# rows inserted by one statement of many VALUES (a fifth cheaper than executemany); 3 of
# SQLite's 32,766 parameters a row
_ROWS_A_STATEMENT = 1000


@functools.lru_cache(maxsize=8)
def _insert(rows: int) -> str:
    values = ", ".join(["(?, ?, ?)"] * rows)
    # only marks are formatted in: the values are bound
    return f"INSERT INTO keys (line, key, content) VALUES {values} ON CONFLICT DO NOTHING"  # noqa: S608


class KeyLedger:
    """The keys met so far (each a digest as bytes), the first row of each: its line and
    its content's digest."""

    def __init__(self) -> None:
        # "": a private temporary database on disk, deleted when the connection closes
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        # the ledger works in a thread of its own, on a batch while the one before is
        # written: SQLite lets go of the GIL while it works, so that uses the other core
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="thumbs-import-ledger")
        for pragma in (
            f"cache_size=-{CACHE_KIB}",
            "journal_mode=OFF",  # nothing to recover: the ledger lives as long as the import
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE keys (key BLOB PRIMARY KEY, content INTEGER NOT NULL, "
            "line INTEGER NOT NULL) WITHOUT ROWID"
        )
        self._db.execute("BEGIN")

    def met(self, rows: Sequence[tuple[int, bytes, int]]) -> dict[int, tuple[int, int]]:
        """Adds ``rows`` (line, key, content) in order; returns, for each row whose key was
        met before (in an earlier batch or earlier in ``rows``), by its line: the content
        and the line of the first row of that key."""
        db = self._db
        before = db.total_changes
        for start in range(0, len(rows), _ROWS_A_STATEMENT):
            part = rows[start : start + _ROWS_A_STATEMENT]
            db.execute(_insert(len(part)), [value for row in part for value in row])
        if db.total_changes - before == len(rows):  # every key new: the usual batch
            return {}
        again: dict[int, tuple[int, int]] = {}
        for line, key, _ in rows:
            content, first = db.execute(
                "SELECT content, line FROM keys WHERE key = ?", (key,)
            ).fetchone()
            if first != line:
                again[line] = (content, first)
        return again

    def told(
        self, batches: Iterable[Parsed]
    ) -> Iterator[tuple[Parsed, dict[int, tuple[int, int]]]]:
        """Each batch with what :meth:`met` says of its rows, in order; the ledger takes a
        batch while the caller works on the one before."""
        before: tuple[Parsed, Future[dict[int, tuple[int, int]]]] | None = None
        for batch in batches:
            telling = self._thread.submit(self.met, [row[:3] for row in batch.ready])
            if before is not None:
                yield before[0], before[1].result()
            before = (batch, telling)
        if before is not None:
            yield before[0], before[1].result()

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._db.close()

    def __enter__(self) -> KeyLedger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class IdSighting:
    """A Bloom filter of strings in ``BITS`` bits (16 MiB), two bits a string, both taken
    from its ``hash()`` (the same within one process, which is all an import needs). With
    a million ids in it, about 2 in 10,000 strings never added are said to be there; with
    ten million, 2 in 100."""

    BITS = 1 << 27
    _MASK = BITS - 1

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS >> 3)

    def add_all(self, values: Iterable[str]) -> None:
        bits, bit = self._bits, self._bit
        for value in values:
            a, b = bit(value)
            bits[a >> 3] |= 1 << (a & 7)
            bits[b >> 3] |= 1 << (b & 7)

    def __contains__(self, value: str) -> bool:
        bits, (a, b) = self._bits, self._bit(value)
        return bool(bits[a >> 3] & (1 << (a & 7)) and bits[b >> 3] & (1 << (b & 7)))

    @classmethod
    def _bit(cls, value: str) -> tuple[int, int]:
        """The two bits of ``value``: from the low and the high half of its hash."""
        h = hash(value)
        return h & cls._MASK, (h >> 32) & cls._MASK
