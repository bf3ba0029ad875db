"""Reading an import file: its rows validated like the API, keyed, and given their
feedback ids, a batch (a block of lines) at a time, with no database (the writing is
:mod:`thumbs.exports.imports`). A large file is parsed by processes of their own
(:func:`parsed_in_processes`), which import this module and what it needs only.

* A JSONL line is a JSON body (strict types; a key given twice or NaN refused as in a
  body); a CSV record a form body (strings, numbers read where numbers are wanted, an
  empty field a value not given). See :class:`~thumbs.exports.schemas.FeedbackImport`.
* Each row's key is its ``id`` if it has one, else its content; its feedback id is
  derived from the account, the assistant and that key (:func:`thumbs.kit.ids.derived_id`).
* Several processes share a JSONL file by blocks of ``BATCH_ROWS`` lines, taken in turn
  (each reads the others' lines and skips them): every row keeps its own line number, and
  the batches come back in the file's order. A CSV record may span lines: one process.
  Keys met twice are told by the writer, which sees every block (:class:`Ready` carries
  digests of the key and the content for that).
"""

from __future__ import annotations

import csv
import hashlib
import io
import marshal
import multiprocessing
import re
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import IO, Any, Literal, cast

import orjson

from thumbs.exports.schemas import IGNORED_COLUMNS, FeedbackImport
from thumbs.feedback.schemas import TEXT_MAX, feedback_type_for
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.body import loads_checked, parse_fields, validate_fields
from thumbs.kit.schemas import ID_MAX
from thumbs.kit.timefmt import ISO_DATE_PATTERN, epoch_hour, from_iso, stored_text

SourceFormat = Literal["csv", "jsonl"]
BATCH_ROWS = 1000  # lines per block: a batch is (at most) one
PARSERS = 2  # processes parsing a large JSONL file (a CSV file: one)


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    code: int
    field: str | None
    message: str


# A valid row's fields, as the model holds them: id, session_id, message_id, score, text,
# date_created, date_updated
Values = tuple[str | None, str, str | None, float | None, str | None, str | None, str | None]
Row = tuple[int, Values | E.ThumbsError]


def _jsonl_rows(stream: IO[bytes], *, part: int = 0, parts: int = 1) -> Iterator[Row]:
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
        values = _plain(data)
        if values is not None:
            yield number, values
            continue
        try:
            yield number, _values(validate_fields(FeedbackImport, _taken(data), raw=raw))
        except E.ThumbsError as err:
            yield number, err


_OPTIONAL = FeedbackImport.optional_fields


def _values(row: FeedbackImport) -> Values:
    return (
        row.id,
        row.session_id,
        row.message_id,
        row.score,
        row.text,
        row.date_created,
        row.date_updated,
    )


# -- the plain path: a row as an export writes it, accepted without the model ---------------

# the keys of a row the plain path reads: the model's fields under their own names, and the
# columns not imported (a camelCase field, or any other key, goes to the model)
_PLAIN_KEYS = frozenset(FeedbackImport.model_fields) | IGNORED_COLUMNS
_MESSAGE_PREFIX = "aia_msg_"  # MessageId's pattern: ^aia_msg_.+$
_DATE_MAX = 64  # IsoDate
_ASCII_DATE = re.compile(ISO_DATE_PATTERN, re.ASCII)
_NUL = "\x00"  # refused in every value the model reads (60016)


def _plain_id(value: Any) -> bool:
    """A RequiredId without NUL: a string of 1 to 256 characters, not only whitespace."""
    return (
        type(value) is str
        and 0 < len(value) <= ID_MAX
        and not value.isspace()
        and _NUL not in value
    )


def _plain_date(value: Any) -> bool:
    """An IsoDate of ASCII characters without NUL (the model's pattern reads any Unicode
    digit; such a date is left to it)."""
    return (
        type(value) is str
        and len(value) <= _DATE_MAX
        and value.isascii()
        and _NUL not in value
        and _ASCII_DATE.fullmatch(value) is not None
    )


def _plain(data: dict[str, Any]) -> Values | None:
    """The row's values when the model would accept the row as it is and hold these very
    values (the rows an export writes: snake_case keys, exact types, within every limit),
    else None: the model decides, and words any rejection. Cheaper than the model by
    several microseconds a row; it must accept nothing the model refuses (a test compares
    them), and may leave to the model anything unusual (a NUL in a value the model reads
    too: the model's path refuses it, and the columns not imported may hold one, as
    there)."""
    if not data.keys() <= _PLAIN_KEYS:
        return None
    get = data.get
    session_id, key, message_id = get("session_id"), get("id"), get("message_id")
    score, text = get("score"), get("text")
    created, updated = get("date_created"), get("date_updated")
    if not _plain_id(session_id) or (key is not None and not _plain_id(key)):
        return None
    if message_id is not None and not (
        type(message_id) is str
        and len(message_id) <= ID_MAX
        and len(message_id) > len(_MESSAGE_PREFIX)
        and message_id.startswith(_MESSAGE_PREFIX)
        and "\n" not in message_id
        and _NUL not in message_id
    ):
        return None
    if score is not None and not (type(score) is float and 0.0 <= score <= 1.0):
        return None
    if text is not None and not (type(text) is str and len(text) <= TEXT_MAX and _NUL not in text):
        return None
    if (created is not None and not _plain_date(created)) or (
        updated is not None and updated != created and not _plain_date(updated)
    ):
        return None
    return cast(Values, (key, session_id, message_id, score, text, created, updated))


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


def _csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    """A header row naming the columns, then one record per feedback, validated as a form
    body is. A bad header (or bytes that are not UTF-8, or broken quoting) ends the
    reading with one rejection."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_records(csv.reader(text))
    finally:
        text.detach()  # the caller's stream stays open


def _csv_records(reader: Any) -> Iterator[Row]:
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
            yield line, _values(parse_fields(FeedbackImport, _taken(data)))
        except E.ThumbsError as err:
            yield line, err


def read_rows(
    stream: IO[bytes], fmt: SourceFormat, *, part: int = 0, parts: int = 1
) -> Iterator[Row]:
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

# One row ready to write, as the writer takes it: its line, digests of its key (128 bits of
# the hash its id is derived from: the same in every process, as ``hash()`` is not) and of
# its content (:meth:`Parser.add`), its id in the source, then the values of its insert
# (positions 4 to 11, in ``imports.IMPORT_COLUMNS`` order: its feedback id, derived from
# its key; session_id, message_id, score, text, feedback_type, and its dates as the stores
# take them, naive UTC in text), last the hour it counts in (the analytics rollups). The
# writer adds what needs the database.
Ready = tuple[
    int,
    bytes,
    int,
    str | None,
    str,
    str,
    str | None,
    float | None,
    str | None,
    str | None,
    str,
    str,
    int,
]


@dataclass(slots=True)
class Parsed:
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


def rejection(line: int, err: E.ThumbsError) -> Rejected:
    return Rejected(line, err.code, err.details.get("field"), err.message)


class Parser:
    """Reads, validates and keys the rows of one file (or of one part of its blocks of
    lines), a batch at a time, and derives each row's feedback id from its key; the rows
    come out as the writer inserts them (``now`` for a date not given, the type from the
    assistant's ``threshold``). Needs no database: it runs in processes of its own for a
    large file (:func:`import_feedback`). Keys met twice are told by the writer, which
    sees every part."""

    def __init__(
        self, *, account_sid: str, assistant_id: str, threshold: float, now: datetime
    ) -> None:
        self.account_sid = account_sid
        self.assistant_id = assistant_id
        self.threshold = threshold
        self.now = now
        self._now_text = stored_text(now)

    def batches(
        self, stream: IO[bytes], fmt: SourceFormat, *, part: int = 0, parts: int = 1
    ) -> Iterator[Parsed]:
        """One batch per block of lines of this part (empty ones too, up to its last row),
        in order: blocks ``part``, ``part + parts``, …"""
        batch, block = Parsed(), part
        for line, parsed in read_rows(stream, fmt, part=part, parts=parts):
            while _block(line) > block:
                batch.position = stream.tell()
                yield batch
                batch, block = Parsed(), block + parts
            batch.rows += 1
            if isinstance(parsed, E.ThumbsError):
                batch.rejected.append(rejection(line, parsed))
            else:
                self.add(batch, line, parsed)
        batch.position = stream.tell()
        yield batch

    def add(self, batch: Parsed, line: int, row: Values) -> None:
        source_id, session_id, message_id, score, text, created_iso, updated_iso = row
        try:
            created = _date(created_iso, "date_created")
            updated = (
                created
                if updated_iso == created_iso  # as most exports have it
                else _date(updated_iso, "date_updated")
            )
        except E.ThumbsError as err:
            batch.rejected.append(rejection(line, err))
            return
        values = (session_id, message_id, score, text, created, updated)
        content_text = orjson.dumps(values, option=orjson.OPT_NAIVE_UTC)
        if source_id is not None:
            key = f"id:{source_id}"
            # to tell a repeated row from a clash (the same in every process)
            content = zlib.crc32(content_text)
        else:
            key = f"row:{hashlib.sha256(content_text).hexdigest()}"
            content = 0  # the same key is the same content
        # the key's digest names the row in this import (keys met twice) and gives its id
        digest = ids.names_digest(self.account_sid, self.assistant_id, key)
        fid = ids.id_of_digest(ids.FEEDBACK, digest, at=created)
        if created is None:
            created_text, hour = self._now_text, epoch_hour(self.now)
        else:
            created_text, hour = stored_text(created), epoch_hour(created)
        if updated is None:
            updated_text = created_text
        else:
            updated_text = created_text if updated is created else stored_text(updated)
        kind = feedback_type_for(score, self.threshold)
        batch.ready.append(
            (
                line,
                digest[:16],
                content,
                source_id,
                fid,
                session_id,
                message_id,
                score,
                text,
                kind,
                created_text,
                updated_text,
                hour,
            )
        )


def _parse_part(
    sender: Connection,
    path: str,
    fmt: SourceFormat,
    part: int,
    parts: int,
    settings: dict[str, Any],
) -> None:
    """A parsing process: sends each parsed batch of its part (:func:`_packed`), then None
    (or the text of an error)."""
    try:
        parser = Parser(**settings)
        with open(path, "rb") as stream:
            for batch in parser.batches(stream, fmt, part=part, parts=parts):
                sender.send_bytes(_packed(batch))
        sender.send_bytes(marshal.dumps(None))
    except BaseException:
        sender.send_bytes(marshal.dumps(traceback.format_exc()))
    finally:
        sender.close()


def _packed(batch: Parsed) -> bytes:
    """A batch as ``marshal`` writes it: its rows are tuples of strings, numbers and None,
    which ``marshal`` writes and reads in about half the time ``pickle`` takes (it keeps no
    memo of every object)."""
    rejected = [(r.line, r.code, r.field, r.message) for r in batch.rejected]
    return marshal.dumps((batch.ready, rejected, batch.rows, batch.position))


def _unpacked(data: bytes) -> Parsed | str | None:
    item = marshal.loads(data)  # noqa: S302 - from our own parsing process, over its pipe
    if item is None or isinstance(item, str):
        return item
    ready, rejected, rows, position = item
    return Parsed(ready, [Rejected(*r) for r in rejected], rows, position)


def parsed_in_processes(
    path: str, fmt: SourceFormat, *, parts: int, settings: dict[str, Any]
) -> Iterator[Parsed]:
    """The batches of :class:`Parser`, in the file's order, parsed by ``parts`` other
    processes while this one writes the batches before (several cores, where the GIL would
    let one thread run at a time). Each process parses every ``parts``-th block of lines
    (it reads the others and skips them), so they take the batches in turn. ``settings``
    are the :class:`Parser`'s."""
    context = multiprocessing.get_context("spawn")  # nothing of this process is copied
    receivers: list[Connection] = []
    children = []
    try:
        for part in range(parts):
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(
                target=_parse_part,
                args=(sender, path, fmt, part, parts, settings),
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
                item = _unpacked(receiver.recv_bytes())
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
