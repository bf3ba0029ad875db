"""Import of feedback from JSONL or CSV: a backfill from another tool or from Twilio (no
HTTP here; ``thumbs import feedback`` runs it).

* **Validated like the API.** Each row is a :class:`~thumbs.exports.schemas.FeedbackImport`:
  the create fields of the Feedbacks API (``session_id``, ``message_id``, ``score``,
  ``text``) with the same rules and error codes (a JSONL line as a JSON body, strict types;
  a CSV record as a form body: its values are strings, numbers are read where numbers are
  wanted, an empty field is a value not given), plus ``id`` and the original
  ``date_created``/``date_updated``. The other columns of a thumbs export or a Twilio
  listing are accepted and not imported; any other column is refused (60007).
* **Nothing half-imported.** The file is imported in one transaction. When any row is
  rejected, nothing is written: the report lists every rejected row (its line, code, field
  and reason) and the command exits non-zero. There is no "skip the bad rows" mode: fix or
  remove the rows the report names and run the import again (which is safe, below).
* **Idempotent.** Each row has a stable key: its ``id`` if the file has one, else its
  content. The feedback it creates gets an id derived from the account, the assistant and
  that key (:func:`thumbs.kit.ids.derived_id`), so a re-run finds it and skips the row; so
  is a row whose ``id`` is a feedback of this assistant already (an export imported back
  where it came from). A key repeated within the file is skipped when the row is the same
  and rejected when it differs. An imported feedback is never updated.
* **What is written**: a feedback of the assistant with ``channel`` ``import``, status
  ``pending``, its type from the score and the assistant's threshold (as the API does),
  linked to the message when a message with that id was logged in the account, with the
  dates given (else now; ``date_updated`` defaults to ``date_created``). Rows go in by
  the create path's bulk insert, a thousand at a time, as tuples the parser made ready
  (:func:`write_imported`; ``COPY`` on PostgreSQL).
* **Parsing apart.** Reading, validating and keying rows needs no database
  (:mod:`thumbs.exports.parsing`: a row as an export writes it is checked without the
  model, anything else by the model); a large file is parsed by other processes (a JSONL
  file by ``PARSERS``, taking its blocks of lines in turn) while this one writes
  (:class:`_Writer`) in its one transaction, batch after batch.
* **Memory that does not grow with the file.** The keys met are kept on disk
  (:mod:`thumbs.exports.ledger`), the ids written in a filter of a fixed size, and the
  file is read a batch at a time.

On SQLite the import holds the database's write lock from its first insert to its commit;
writes of the server wait meanwhile (up to SQLite's busy timeout, 10 s, then 503): import
large files when the server is quiet, or on PostgreSQL, where nothing waits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Connection, Engine, select

from thumbs.exports.ledger import IdSighting, KeyLedger
from thumbs.exports.parsing import (
    PARSERS,
    Parsed,
    Parser,
    Ready,
    Rejected,
    SourceFormat,
    parsed_in_processes,
    rejection,
)
from thumbs.feedback.service import AssistantRef
from thumbs.kit import errors as E
from thumbs.kit.timefmt import utcnow
from thumbs.store import rollups
from thumbs.store.models import Feedback
from thumbs.store.sql import RawInsert, messages_by_id, select_in

__all__ = ["PARSERS", "ImportReport", "Rejected", "SourceFormat", "format_of", "import_feedback"]

EXTENSIONS: dict[str, SourceFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
PARSE_APART_BYTES = 8 << 20  # a file this large is parsed by other processes
CHANNEL = "import"


@dataclass(slots=True)
class ImportReport:
    rows: int = 0  # data rows read
    imported: int = 0  # written (or, in a dry run or a rejected import, that would be)
    present: int = 0  # skipped: imported before
    repeated: int = 0  # skipped: the same row earlier in the file
    rejected: list[Rejected] = field(default_factory=list)
    dry_run: bool = False

    @property
    def committed(self) -> bool:
        return not self.rejected and not self.dry_run

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported if self.committed else 0,
            "would_import": self.imported,
            "already_present": self.present,
            "repeated": self.repeated,
            "rejected": [
                {"line": r.line, "code": r.code, "field": r.field, "message": r.message}
                for r in self.rejected
            ],
            "dry_run": self.dry_run,
            "committed": self.committed,
        }


def format_of(path: Path) -> SourceFormat:
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise E.InvalidField(
            E.INVALID_VALUE,
            "PATH",
            f"{path.name}: the format is chosen by the extension, .csv or .jsonl (.ndjson)",
        )
    return fmt


# -- writing ---------------------------------------------------------------------------------


# The columns an import writes, in the order of a ready row's values (its positions 4 to
# 11: :data:`~thumbs.exports.parsing.Ready`), then what the writer adds: the message
# linked, and the constants of the import
IMPORT_COLUMNS = (
    "id",
    "session_id",
    "message_id",
    "score",
    "text",
    "feedback_type",
    "date_created",
    "date_updated",
    "message_pk",
    "account_pk",
    "assistant_pk",
    "channel",
    "status",
)
INSERT_IMPORTED = RawInsert(Feedback.__table__, IMPORT_COLUMNS)
STATUS = "pending"


def write_imported(conn: Connection, assistant: AssistantRef, rows: Sequence[Ready]) -> None:
    """The one place imported feedback is written (in the import's transaction): the rows,
    linked to the messages with their ids logged in the account, and their rollups.
    Anything that must accompany every new feedback row belongs here too. On PostgreSQL the
    rows go in by ``COPY``."""
    message_ids = {r[6] for r in rows if r[6] is not None}
    found = messages_by_id(conn, message_ids) if message_ids else []
    logged = {mid: pk for pk, mid, account_pk in found if account_pk == assistant.account_pk}
    get = logged.get
    tail = (assistant.account_pk, assistant.pk, CHANNEL, STATUS)
    INSERT_IMPORTED.run_values(
        conn, [(*r[4:12], get(r[6]) if r[6] else None, *tail) for r in rows], copy=True
    )
    rollups.created_cells(
        conn,
        account_pk=assistant.account_pk,
        assistant_pk=assistant.pk,
        status=STATUS,
        channel=CHANNEL,
        rows=[(r[12], r[9], r[7], r[8]) for r in rows],
    )


def _present(conn: Connection, *, assistant_pk: int, candidates: set[str]) -> set[str]:
    """Which of these feedback ids this assistant has already: one driver-level statement
    on the unique index of ids (building the equivalent ``select … IN`` per batch cost more
    than running it; and with ``assistant_pk`` in the WHERE clause PostgreSQL walked the
    assistant's rows instead, slower with every batch imported)."""
    found = select_in(conn, Feedback.__tablename__, ("id", "assistant_pk"), {"id": candidates})
    return {fid for fid, owner in found if owner == assistant_pk}


def _has_feedback(conn: Connection, *, assistant_pk: int) -> bool:
    found = conn.execute(
        select(Feedback.pk).where(Feedback.assistant_pk == assistant_pk).limit(1)
    ).first()
    return found is not None


class _Writer:
    """Writes the parsed batches in the import's transaction: the rows this assistant has
    already skipped, the others inserted.

    Which rows it has already: a row whose feedback id (derived from its key) or whose id
    in the source is a feedback of this assistant. When the assistant has no feedback when
    the import starts (a first import), no derived id can be there but those this import
    wrote, and the parser let no key through twice; so only a source id can be, and only
    if it is one of the ids written, which the writer remembers in a filter of a fixed size
    (:class:`~thumbs.exports.ledger.IdSighting`: a source id it may hold is looked up).
    Otherwise (a re-run, a second file) each batch looks its ids up, one statement on the
    unique index of ids. Keys met twice are told by the :class:`KeyLedger`. Neither grows
    the process with the file."""

    def __init__(self, conn: Connection, *, assistant: AssistantRef, report: ImportReport) -> None:
        self.conn = conn
        self.assistant = assistant
        self.report = report
        # a first import: the ids it wrote (a Bloom filter), else None
        self.written: IdSighting | None = (
            None if _has_feedback(conn, assistant_pk=assistant.pk) else IdSighting()
        )

    def write(self, batch: Parsed, again: dict[int, tuple[int, int]]) -> None:
        """Writes ``batch``, whose rows ``again`` names (by line) when the ledger met their
        key before (:meth:`KeyLedger.met`)."""
        report = self.report
        report.rows += batch.rows
        ready = self._first_seen(batch, again)
        if not ready:
            return
        written = self.written
        if written is None:
            candidates = {r[4] for r in ready} | {r[3] for r in ready if r[3]}
        else:
            candidates = {r[3] for r in ready if r[3] and r[3] in written}
        present = (
            _present(self.conn, assistant_pk=self.assistant.pk, candidates=candidates)
            if candidates
            else set()
        )
        new = (
            [r for r in ready if r[4] not in present and r[3] not in present] if present else ready
        )
        report.present += len(ready) - len(new)
        report.imported += len(new)
        if new and report.committed:
            write_imported(self.conn, self.assistant, new)
            if written is not None:
                written.add_all([r[4] for r in new])

    def _first_seen(self, batch: Parsed, again: dict[int, tuple[int, int]]) -> list[Ready]:
        """The rows of the batch whose key the file did not give before: a key met again is
        skipped when the row is the same, rejected when it differs (the parsers cannot
        tell: each sees a part of the file; the ledger has every key met)."""
        report, rejected = self.report, batch.rejected
        if not again:
            ready = batch.ready
        else:
            ready = []
            for row in batch.ready:
                earlier = again.get(row[0])
                if earlier is None:
                    ready.append(row)
                elif earlier[0] == row[2]:
                    report.repeated += 1
                else:
                    message = f"id {row[3]!r} is on line {earlier[1]} already, with other values"
                    err = E.InvalidField(E.INVALID_VALUE, "id", message)
                    rejected = [*rejected, rejection(row[0], err)]
        if len(rejected) > len(batch.rejected):  # in the order of the lines
            rejected.sort(key=lambda r: r.line)
        report.rejected.extend(rejected)
        return ready


def _file_path(stream: IO[bytes]) -> str | None:
    """The path of ``stream`` when it is a regular file read from its start."""
    name = getattr(stream, "name", None)
    if not isinstance(name, str) or not os.path.isfile(name):
        return None
    try:
        return name if stream.tell() == 0 else None
    except OSError:
        return None


def import_feedback(
    engine: Engine,
    *,
    account_sid: str,
    assistant: AssistantRef,
    stream: IO[bytes],
    fmt: SourceFormat,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    parse_apart: bool | None = None,
) -> ImportReport:
    """Import every row of ``stream`` into ``assistant``, in one transaction that commits
    only when no row was rejected (and this is not a dry run). ``progress`` is told how
    many bytes of the stream were read, now and then.

    A file of ``PARSE_APART_BYTES`` or more (or any file, with ``parse_apart``) is parsed
    and validated by other processes while this one writes (``PARSERS`` for JSONL, taking
    the blocks of lines in turn; one for CSV): the same parser, the same report. Those
    processes are spawned (they inherit nothing of this one), so a script that calls this
    must guard its own work with ``if __name__ == "__main__"``, as ``thumbs`` does."""
    report = ImportReport(dry_run=dry_run)
    path = _file_path(stream)
    if parse_apart is None:
        parse_apart = path is not None and os.path.getsize(path) >= PARSE_APART_BYTES
    if parse_apart and path is None:
        raise ValueError("a stream parsed apart must be a file read from its start")
    with engine.connect() as conn, KeyLedger() as ledger:
        transaction = conn.begin()
        try:
            writer = _Writer(conn, assistant=assistant, report=report)
            settings: dict[str, Any] = {
                "account_sid": account_sid,
                "assistant_id": assistant.id,
                "threshold": assistant.positive_threshold,
                "now": utcnow(),
            }
            batches = (
                parsed_in_processes(
                    cast(str, path),
                    fmt,
                    parts=PARSERS if fmt == "jsonl" else 1,
                    settings=settings,
                )
                if parse_apart
                else Parser(**settings).batches(stream, fmt)
            )
            for batch, again in ledger.told(batches):
                writer.write(batch, again)
                if progress is not None:
                    progress(batch.position)
        except BaseException:
            transaction.rollback()
            raise
        if report.committed:
            transaction.commit()
        else:
            transaction.rollback()
    return report
