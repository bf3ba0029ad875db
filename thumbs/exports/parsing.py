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
import multiprocessing
import traceback
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import IO, Any, Literal

import orjson

from thumbs.exports.schemas import IGNORED_COLUMNS, FeedbackImport
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.body import loads_checked, parse_fields, validate_fields
from thumbs.kit.timefmt import from_iso

SourceFormat = Literal["csv", "jsonl"]
BATCH_ROWS = 1000  # lines per block: a batch is (at most) one
PARSERS = 2  # processes parsing a large JSONL file (a CSV file: one)


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    code: int
    field: str | None
    message: str


Row = tuple[int, FeedbackImport | E.ThumbsError]


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
            yield line, parse_fields(FeedbackImport, _taken(data))
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

# One row ready to write: its line, its feedback id (derived from its key), its id in the
# source, then session_id, message_id, score, text, date_created and date_updated; last
# the digests of its key and of its content (:meth:`Parser.add`)
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


def _digest(data: bytes) -> int:
    """128 bits of ``data``'s hash, the same in every process (``hash()`` is not)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=16).digest())


class Parser:
    """Reads, validates and keys the rows of one file (or of one part of its blocks of
    lines), a batch at a time, and derives each row's feedback id from its key. Needs no
    database: it runs in processes of its own for a large file (:func:`import_feedback`).
    Keys met twice are told by the writer, which sees every part."""

    def __init__(self, *, account_sid: str, assistant_id: str) -> None:
        self.account_sid = account_sid
        self.assistant_id = assistant_id

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

    def add(self, batch: Parsed, line: int, row: FeedbackImport) -> None:
        try:
            created = _date(row.date_created, "date_created")
            updated = (
                created
                if row.date_updated == row.date_created  # as most exports have it
                else _date(row.date_updated, "date_updated")
            )
        except E.ThumbsError as err:
            batch.rejected.append(rejection(line, err))
            return
        values = (row.session_id, row.message_id, row.score, row.text, created, updated)
        content_text = orjson.dumps(values, option=orjson.OPT_NAIVE_UTC)
        if row.id is not None:
            key = f"id:{row.id}"
            # to tell a repeated row from a clash (the same in every process)
            content = zlib.crc32(content_text)
        else:
            key = f"row:{hashlib.sha256(content_text).hexdigest()}"
            content = 0  # the same key is the same content
        fid = ids.derived_id(ids.FEEDBACK, self.account_sid, self.assistant_id, key, at=created)
        batch.ready.append((line, fid, row.id, *values, _digest(key.encode()), content))


def _parse_part(
    sender: Connection,
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
        parser = Parser(account_sid=account_sid, assistant_id=assistant_id)
        with open(path, "rb") as stream:
            for batch in parser.batches(stream, fmt, part=part, parts=parts):
                sender.send(batch)
        sender.send(None)
    except BaseException:
        sender.send(traceback.format_exc())
    finally:
        sender.close()


def parsed_in_processes(
    path: str, fmt: SourceFormat, *, parts: int, account_sid: str, assistant_id: str
) -> Iterator[Parsed]:
    """The batches of :class:`Parser`, in the file's order, parsed by ``parts`` other
    processes while this one writes the batches before (several cores, where the GIL would
    let one thread run at a time). Each process parses every ``parts``-th block of lines
    (it reads the others and skips them), so they take the batches in turn."""
    context = multiprocessing.get_context("spawn")  # nothing of this process is copied
    receivers: list[Connection] = []
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
