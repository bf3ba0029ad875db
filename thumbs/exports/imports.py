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
  dates given (else now; ``date_updated`` defaults to ``date_created``). Rows go in with
  the create path's bulk insert, a thousand at a time (:func:`write_imported`; ``COPY`` on
  PostgreSQL).
* **Parsing apart.** Reading, validating and keying rows needs no database
  (:class:`_Parser`); a large file is parsed by a second process while this one writes
  (:class:`_Writer`) in its one transaction, batch after batch.

On SQLite the import holds the database's write lock from its first insert to its commit;
writes of the server wait meanwhile (up to SQLite's busy timeout, 10 s, then 503): import
large files when the server is quiet, or on PostgreSQL, where nothing waits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection as Connection_
from pathlib import Path
from typing import IO, Any, Literal, cast

import orjson
from sqlalchemy import Connection, Engine

from thumbs.exports.schemas import IGNORED_COLUMNS, FeedbackImport
from thumbs.feedback.jobs import INSERT_FEEDBACK
from thumbs.feedback.service import AssistantRef, feedback_type_for
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.body import loads_checked, parse_fields, validate_fields
from thumbs.kit.timefmt import from_iso, utcnow
from thumbs.store import rollups
from thumbs.store.models import Feedback
from thumbs.store.sql import messages_by_id

SourceFormat = Literal["csv", "jsonl"]
EXTENSIONS: dict[str, SourceFormat] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
BATCH_ROWS = 1000
PARSE_APART_BYTES = 8 << 20  # a file this large is parsed by a second process
CHANNEL = "import"


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    code: int
    field: str | None
    message: str


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


# -- reading ---------------------------------------------------------------------------------

Parsed = tuple[int, FeedbackImport | E.ThumbsError]


def _jsonl_rows(stream: IO[bytes]) -> Iterator[Parsed]:
    """Each non-blank line a JSON object, validated as a JSON body is (strict types)."""
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            data = loads_checked(raw)  # a key given twice or NaN is refused as in a body
        except E.ThumbsError as err:
            yield number, err
            continue
        except ValueError:
            yield number, _malformed("The line is not valid JSON")
            continue
        if not isinstance(data, dict):
            yield number, _malformed("The line must be a JSON object")
            continue
        try:
            yield number, validate_fields(FeedbackImport, _taken(data), raw=raw)
        except E.ThumbsError as err:
            yield number, err


def _taken(data: dict[str, Any]) -> dict[str, Any]:
    """The row without the columns the import accepts and does not take."""
    if IGNORED_COLUMNS.isdisjoint(data):
        return data
    return {k: v for k, v in data.items() if k not in IGNORED_COLUMNS}


def _malformed(message: str) -> E.ThumbsError:
    return E.ThumbsError(E.MALFORMED_BODY, message, field="body")


def _header_error(header: list[str]) -> E.ThumbsError | None:
    seen: set[str] = set()
    for name in header:
        known = FeedbackImport.model_fields.keys() | FeedbackImport.camel_spellings.keys()
        if name not in known and name not in IGNORED_COLUMNS:
            return E.InvalidField(E.UNKNOWN_FIELD, name, f"Unknown column '{name}'")
        if name in seen:
            return E.InvalidField(E.INVALID_VALUE, name, f"Column '{name}' appears twice")
        seen.add(name)
    return None


def _csv_rows(stream: IO[bytes]) -> Iterator[Parsed]:
    """A header row naming the columns, then one record per feedback, validated as a form
    body is. A bad header (or bytes that are not UTF-8, or broken quoting) ends the
    reading with one rejection."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_records(csv.reader(text))
    finally:
        text.detach()  # the caller's stream stays open


def _csv_records(reader: Any) -> Iterator[Parsed]:
    header: list[str] | None = None
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            yield reader.line_num + 1, _malformed("The file is not UTF-8 text")
            return
        except csv.Error as exc:
            yield reader.line_num, _malformed(f"The line is not valid CSV: {exc}")
            return
        line = reader.line_num
        if not values:  # a blank line
            continue
        if header is None:
            header = values
            problem = _header_error(header)
            if problem is not None:
                yield line, problem
                return
            continue
        if len(values) > len(header):
            yield line, _malformed(f"The record has {len(values)} fields, the header {len(header)}")
            continue
        data = {name: value for name, value in zip(header, values, strict=False) if value != ""}
        try:
            yield line, parse_fields(FeedbackImport, _taken(data))
        except E.ThumbsError as err:
            yield line, err


def read_rows(stream: IO[bytes], fmt: SourceFormat) -> Iterator[Parsed]:
    return _csv_rows(stream) if fmt == "csv" else _jsonl_rows(stream)


# -- parsing: the rows of the file, validated and keyed (no database) ------------------------

# One row ready to write: its line, key, id in the source, then session_id, message_id,
# score, text, date_created and date_updated
Ready = tuple[
    int,
    str,
    str | None,
    str,
    str | None,
    float | None,
    str | None,
    datetime | None,
    datetime | None,
]


@dataclass(slots=True)
class _Parsed:
    """A batch of the file, parsed: the rows to write, and what the parser counted."""

    ready: list[Ready] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0
    repeated: int = 0
    position: int = 0  # bytes of the file read so far


def _date(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return from_iso(value)
    except ValueError:
        raise E.InvalidField(
            E.WRONG_TYPE, name, f"Field '{name}' is not an ISO 8601 date: {value[:64]!r}"
        ) from None


def _rejection(line: int, err: E.ThumbsError) -> Rejected:
    return Rejected(line, err.code, err.details.get("field"), err.message)


class _Parser:
    """Reads, validates and keys the rows of one file, a batch at a time. Needs no
    database: it runs in a process of its own for a large file (:func:`import_feedback`)."""

    def __init__(self) -> None:
        # key -> content hash << 32 | line: the keys met in this file
        self.seen: dict[str, int] = {}

    def batches(self, stream: IO[bytes], fmt: SourceFormat) -> Iterator[_Parsed]:
        batch = _Parsed()
        for line, parsed in read_rows(stream, fmt):
            batch.rows += 1
            if isinstance(parsed, E.ThumbsError):
                batch.rejected.append(_rejection(line, parsed))
            else:
                self.add(batch, line, parsed)
            if batch.rows >= BATCH_ROWS:
                batch.position = stream.tell()
                yield batch
                batch = _Parsed()
        batch.position = stream.tell()
        yield batch

    def add(self, batch: _Parsed, line: int, row: FeedbackImport) -> None:
        try:
            created = _date(row.date_created, "date_created")
            updated = (
                created
                if row.date_updated == row.date_created  # as most exports have it
                else _date(row.date_updated, "date_updated")
            )
        except E.ThumbsError as err:
            batch.rejected.append(_rejection(line, err))
            return
        values = (row.session_id, row.message_id, row.score, row.text, created, updated)
        if row.id is not None:
            key = f"id:{row.id}"
            content = hash(values) & 0xFFFF_FFFF  # to tell a repeated row from a clash
        else:
            digest = hashlib.sha256(orjson.dumps(values, option=orjson.OPT_NAIVE_UTC)).digest()
            key = f"row:{digest.hex()}"
            content = 0  # the same key is the same content
        earlier = self.seen.get(key)
        if earlier is not None:
            if earlier >> 32 == content:
                batch.repeated += 1
            else:
                message = (
                    f"id {row.id!r} is on line {earlier & 0xFFFF_FFFF} already, with other values"
                )
                batch.rejected.append(
                    _rejection(line, E.InvalidField(E.INVALID_VALUE, "id", message))
                )
            return
        self.seen[key] = content << 32 | line
        batch.ready.append((line, key, row.id, *values))


def _parse_file(sender: Connection_, path: str, fmt: SourceFormat) -> None:
    """The parsing process: sends each parsed batch, then None (or the text of an error)."""
    try:
        with open(path, "rb") as stream:
            for batch in _Parser().batches(stream, fmt):
                sender.send(batch)
        sender.send(None)
    except BaseException:
        sender.send(traceback.format_exc())
    finally:
        sender.close()


def _parsed_in_a_process(path: str, fmt: SourceFormat) -> Iterator[_Parsed]:
    """The batches of :class:`_Parser`, parsed by a second process while this one writes
    the batches before (two cores, where the GIL would let one thread run at a time)."""
    context = multiprocessing.get_context("spawn")  # nothing of this process is copied
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_parse_file,
        args=(sender, path, fmt),
        name="thumbs-import-parser",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                item = receiver.recv()
            except EOFError:
                raise RuntimeError("the parsing process ended before the file") from None
            if item is None:
                return
            if isinstance(item, str):
                raise RuntimeError(f"the parsing process failed:\n{item}")
            yield item
    finally:
        receiver.close()
        child.join(timeout=10)
        if child.is_alive():  # this side stopped early (an error while writing)
            child.terminate()
            child.join()


# -- writing ---------------------------------------------------------------------------------


def write_imported(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The one place imported feedback is written (in the import's transaction). Anything
    that must accompany every new feedback row belongs here too: the analytics rollups.
    On PostgreSQL the rows go in by ``COPY``."""
    INSERT_FEEDBACK.run(conn, rows, copy=True)
    rollups.created(conn, rows)


def _present(conn: Connection, *, assistant_pk: int, candidates: set[str]) -> set[str]:
    """Which of these feedback ids this assistant has already: one driver-level statement
    on the unique index of ids (building the equivalent ``select … IN`` per batch cost more
    than running it; and with ``assistant_pk`` in the WHERE clause PostgreSQL walked the
    assistant's rows instead, slower with every batch imported)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(candidates))
    table = Feedback.__tablename__
    sql = f'SELECT id, assistant_pk FROM "{table}" WHERE id IN ({marks})'  # noqa: S608
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, tuple(candidates))
        return {fid for fid, owner in cursor.fetchall() if owner == assistant_pk}
    finally:
        cursor.close()


class _Writer:
    """Writes the parsed batches in the import's transaction: each row's feedback id derived
    from its key (here rather than in the parser: it balances the two processes), the rows
    this assistant has already skipped, the others inserted."""

    def __init__(
        self,
        conn: Connection,
        *,
        account_sid: str,
        assistant: AssistantRef,
        report: ImportReport,
    ) -> None:
        self.conn = conn
        self.account_sid = account_sid
        self.assistant = assistant
        self.report = report
        self.now = utcnow()

    def write(self, batch: _Parsed) -> None:
        report = self.report
        report.rows += batch.rows
        report.repeated += batch.repeated
        report.rejected.extend(batch.rejected)
        if not batch.ready:
            return
        derived, sid, aid = ids.derived_id, self.account_sid, self.assistant.id
        ready: list[Ready] = [
            (
                line,
                derived(ids.FEEDBACK, sid, aid, key, at=created),
                source,
                session,
                message,
                score,
                text,
                created,
                updated,
            )
            for line, key, source, session, message, score, text, created, updated in batch.ready
        ]
        candidates = {r[1] for r in ready} | {r[2] for r in ready if r[2]}
        present = _present(self.conn, assistant_pk=self.assistant.pk, candidates=candidates)
        new = [r for r in ready if r[1] not in present and r[2] not in present]
        report.present += len(ready) - len(new)
        report.imported += len(new)
        if new and report.committed:
            write_imported(self.conn, self._rows(new))

    def _rows(self, batch: Sequence[Ready]) -> list[dict[str, Any]]:
        a = self.assistant
        message_ids = {r[4] for r in batch if r[4] is not None}
        logged = {
            mid: pk
            for pk, mid, account_pk in (
                messages_by_id(self.conn, message_ids) if message_ids else ()
            )
            if account_pk == a.account_pk
        }
        threshold, now = a.positive_threshold, self.now
        return [
            {
                "id": fid,
                "account_pk": a.account_pk,
                "assistant_pk": a.pk,
                "session_id": session_id,
                "message_id": message_id,
                "message_pk": logged.get(message_id) if message_id else None,
                "user_pk": None,
                "user_sid": None,
                "score": score,
                "text": text,
                "channel": CHANNEL,
                "feedback_type": feedback_type_for(score, threshold),
                "status": "pending",
                "date_created": created or now,
                "date_updated": updated or created or now,
            }
            for _line, fid, _source, session_id, message_id, score, text, created, updated in batch
        ]


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
    and validated by a second process while this one writes: the same parser, the same
    report. That process is spawned (it inherits nothing of this one), so a script that
    calls this must guard its own work with ``if __name__ == "__main__"``, as ``thumbs``
    does."""
    report = ImportReport(dry_run=dry_run)
    path = _file_path(stream)
    if parse_apart is None:
        parse_apart = path is not None and os.path.getsize(path) >= PARSE_APART_BYTES
    if parse_apart and path is None:
        raise ValueError("a stream parsed apart must be a file read from its start")
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            writer = _Writer(conn, account_sid=account_sid, assistant=assistant, report=report)
            batches = (
                _parsed_in_a_process(cast(str, path), fmt)
                if parse_apart
                else _Parser().batches(stream, fmt)
            )
            for batch in batches:
                writer.write(batch)
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
