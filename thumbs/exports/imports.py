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
from sqlalchemy import Connection, Engine, select

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
PARSE_APART_BYTES = 8 << 20  # a file this large is parsed by other processes
PARSERS = 2  # processes parsing a large JSONL file (a CSV file: one)
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


def _jsonl_rows(stream: IO[bytes], *, part: int = 0, parts: int = 1) -> Iterator[Parsed]:
    """Each non-blank line a JSON object, validated as a JSON body is (strict types). With
    ``parts``, only the lines of this ``part``'s blocks (:func:`_block`)."""
    for number, raw in enumerate(stream, start=1):
        if parts > 1 and _block(number) % parts != part:
            continue
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


_OPTIONAL = FeedbackImport.optional_fields


def _taken(data: dict[str, Any]) -> dict[str, Any]:
    """The row without the columns the import accepts and does not take, nor the optional
    fields given as null: the model's own rule ("null is the field left out",
    :class:`~thumbs.kit.schemas.TwilioBody`) applied while the row is copied anyway, so that
    the model's validator finds nothing to rebuild."""
    return {
        k: v
        for k, v in data.items()
        if k not in IGNORED_COLUMNS and (v is not None or k not in _OPTIONAL)
    }


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


def read_rows(
    stream: IO[bytes], fmt: SourceFormat, *, part: int = 0, parts: int = 1
) -> Iterator[Parsed]:
    """The rows of the file, each with its line; with ``parts`` (JSONL only: a CSV record
    may span lines), only those of this ``part``'s blocks of lines."""
    if fmt == "csv":
        if parts > 1:
            raise ValueError("a CSV file is read by one parser")
        return _csv_rows(stream)
    return _jsonl_rows(stream, part=part, parts=parts)


def _block(line: int) -> int:
    """The block of ``BATCH_ROWS`` lines that ``line`` is in: a batch is (at most) one."""
    return (line - 1) // BATCH_ROWS


# -- parsing: the rows of the file, validated and keyed (no database) ------------------------

# One row ready to write: its line, its feedback id (derived from its key), its id in the
# source, then session_id, message_id, score, text, date_created and date_updated; last
# the digests of its key and of its content (:meth:`_Parser.add`)
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
    int,
    int,
]


@dataclass(slots=True)
class _Parsed:
    """A batch of the file (one block of lines), parsed: the rows to write, and what the
    parser counted."""

    ready: list[Ready] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0
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


def _digest(data: bytes, size: int) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=size).digest())


class _Parser:
    """Reads, validates and keys the rows of one file (or of one part of its blocks of
    lines), a batch at a time, and derives each row's feedback id from its key. Needs no
    database: it runs in processes of its own for a large file (:func:`import_feedback`).
    Keys met twice are told by the writer, which sees every part."""

    def __init__(self, *, account_sid: str, assistant_id: str) -> None:
        self.account_sid = account_sid
        self.assistant_id = assistant_id

    def batches(
        self, stream: IO[bytes], fmt: SourceFormat, *, part: int = 0, parts: int = 1
    ) -> Iterator[_Parsed]:
        """One batch per block of lines of this part (empty ones too, up to its last row),
        in order: blocks ``part``, ``part + parts``, …"""
        batch, block = _Parsed(), part
        for line, parsed in read_rows(stream, fmt, part=part, parts=parts):
            while _block(line) > block:
                batch.position = stream.tell()
                yield batch
                batch, block = _Parsed(), block + parts
            batch.rows += 1
            if isinstance(parsed, E.ThumbsError):
                batch.rejected.append(_rejection(line, parsed))
            else:
                self.add(batch, line, parsed)
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
        content_text = orjson.dumps(values, option=orjson.OPT_NAIVE_UTC)
        if row.id is not None:
            key = f"id:{row.id}"
            # to tell a repeated row from a clash (the same in every process)
            content = _digest(content_text, 8)
        else:
            key = f"row:{hashlib.sha256(content_text).hexdigest()}"
            content = 0  # the same key is the same content
        fid = ids.derived_id(ids.FEEDBACK, self.account_sid, self.assistant_id, key, at=created)
        batch.ready.append((line, fid, row.id, *values, _digest(key.encode(), 16), content))


def _parse_part(
    sender: Connection_,
    path: str,
    fmt: SourceFormat,
    part: int,
    parts: int,
    account_sid: str,
    assistant_id: str,
) -> None:
    """A parsing process: sends each parsed batch of its part, then None (or the text of
    an error)."""
    try:
        parser = _Parser(account_sid=account_sid, assistant_id=assistant_id)
        with open(path, "rb") as stream:
            for batch in parser.batches(stream, fmt, part=part, parts=parts):
                sender.send(batch)
        sender.send(None)
    except BaseException:
        sender.send(traceback.format_exc())
    finally:
        sender.close()


def _parsed_in_processes(
    path: str, fmt: SourceFormat, *, parts: int, account_sid: str, assistant_id: str
) -> Iterator[_Parsed]:
    """The batches of :class:`_Parser`, in the file's order, parsed by ``parts`` other
    processes while this one writes the batches before (several cores, where the GIL would
    let one thread run at a time). Each process parses every ``parts``-th block of lines
    (it reads the others and skips them), so they take the batches in turn."""
    context = multiprocessing.get_context("spawn")  # nothing of this process is copied
    receivers: list[Connection_] = []
    children = []
    try:
        for part in range(parts):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_parse_part,
                args=(sender, path, fmt, part, parts, account_sid, assistant_id),
                name=f"thumbs-import-parser-{part}",
                daemon=True,
            )
            child.start()
            sender.close()
            receivers.append(receiver)
            children.append(child)
        live = list(receivers)
        turn = 0
        while live:
            receiver = live[turn]
            try:
                item = receiver.recv()
            except EOFError:
                raise RuntimeError("a parsing process ended before the file") from None
            if isinstance(item, str):
                raise RuntimeError(f"a parsing process failed:\n{item}")
            if item is None:  # that part has no more rows: the others take their turns
                live.pop(turn)
            else:
                yield item
                turn += 1
            if live:
                turn %= len(live)
    finally:
        for receiver in receivers:
            receiver.close()
        for child in children:
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
    if it is one of the ids written, which the writer remembers (by their hash: a source id
    whose hash is among them is looked up). Otherwise (a re-run, a second file) each batch
    looks its ids up, one statement on the unique index of ids."""

    def __init__(self, conn: Connection, *, assistant: AssistantRef, report: ImportReport) -> None:
        self.conn = conn
        self.assistant = assistant
        self.report = report
        self.now = utcnow()
        # digest of a key met in the file -> digest of its row's content << 32 | its line
        self.seen: dict[int, int] = {}
        # a first import: the hashes of the ids it wrote, else None
        self.written: set[int] | None = (
            None if _has_feedback(conn, assistant_pk=assistant.pk) else set()
        )

    def write(self, batch: _Parsed) -> None:
        report = self.report
        report.rows += batch.rows
        ready = self._first_seen(batch)
        if not ready:
            return
        written = self.written
        if written is None:
            candidates = {r[1] for r in ready} | {r[2] for r in ready if r[2]}
        else:
            candidates = {r[2] for r in ready if r[2] and hash(r[2]) in written}
        present = (
            _present(self.conn, assistant_pk=self.assistant.pk, candidates=candidates)
            if candidates
            else set()
        )
        new = (
            [r for r in ready if r[1] not in present and r[2] not in present] if present else ready
        )
        report.present += len(ready) - len(new)
        report.imported += len(new)
        if new and report.committed:
            write_imported(self.conn, self._rows(new))
            if written is not None:
                written.update([hash(r[1]) for r in new])

    def _first_seen(self, batch: _Parsed) -> list[Ready]:
        """The rows of the batch whose key the file did not give before: a key met again is
        skipped when the row is the same, rejected when it differs (the parsers cannot
        tell: each sees a part of the file)."""
        seen, report = self.seen, self.report
        rejected = batch.rejected
        ready: list[Ready] = []
        for row in batch.ready:
            key, content, line = row[9], row[10], row[0]
            earlier = seen.get(key)
            if earlier is None:
                seen[key] = content << 32 | line
                ready.append(row)
            elif earlier >> 32 == content:
                report.repeated += 1
            else:
                message = (
                    f"id {row[2]!r} is on line {earlier & 0xFFFF_FFFF} already, with other values"
                )
                err = E.InvalidField(E.INVALID_VALUE, "id", message)
                rejected = [*rejected, _rejection(line, err)]
        if len(rejected) > len(batch.rejected):  # in the order of the lines
            rejected.sort(key=lambda r: r.line)
        report.rejected.extend(rejected)
        return ready

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
            for _, fid, _, session_id, message_id, score, text, created, updated, _, _ in batch
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
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            writer = _Writer(conn, assistant=assistant, report=report)
            batches = (
                _parsed_in_processes(
                    cast(str, path),
                    fmt,
                    parts=PARSERS if fmt == "jsonl" else 1,
                    account_sid=account_sid,
                    assistant_id=assistant.id,
                )
                if parse_apart
                else _Parser(account_sid=account_sid, assistant_id=assistant.id).batches(
                    stream, fmt
                )
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
