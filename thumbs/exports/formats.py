"""The export formats: what one record holds, and how chunks of rows become bytes.

An :class:`Encoder` turns the rows of one chunk into bytes as they are read (``start``,
then ``encode`` per chunk, then ``finish``), so an export never holds more than a chunk:

Rows arrive with every value as the record holds it: strings, numbers, nulls, and dates
already written as the API writes them (``2026-11-23T02:37:01Z``, see
:class:`thumbs.store.sql.api_time`).

* **JSONL** (``application/x-ndjson``): one JSON object per line, ``null`` for values never
  given.
* **CSV** (``text/csv``, RFC 4180, UTF-8, a header row): dates as in JSONL; an empty field
  is a null (or an empty string: CSV cannot tell them apart).
* **Parquet** (``application/vnd.apache.parquet``, written with pyarrow): typed columns
  (``score`` a double, dates UTC timestamps in milliseconds, whole seconds as the API
  gives them), zstd-compressed, one row
  group per ``ROW_GROUP_ROWS`` rows; the bytes of each row group are sent as soon as it is
  written, and the footer last.

Golden examples are JSONL in three shapes: ``openai`` (chat fine-tuning:
``{"messages": [system, …conversation…, assistant]}``), ``eval`` (``input``,
``expected_output``, ``metadata``) and ``dpo`` (preference pairs: ``prompt``, ``chosen``,
``rejected``, in the conversational form TRL's DPO trainer reads). The system message is
the assistant's personality prompt, left out when that prompt is empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, cast

import orjson

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

FeedbackFormat = Literal["csv", "jsonl", "parquet"]
GoldenFormat = Literal["openai", "eval", "dpo"]

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
# Accept header values that name a format (a Format parameter takes precedence)
ACCEPTED: dict[str, FeedbackFormat] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
    "application/vnd.apache.parquet": "parquet",
    "application/x-parquet": "parquet",
}


def negotiate(given: FeedbackFormat | None, accept: str | None) -> FeedbackFormat:
    """The format of a feedback export: the ``Format`` parameter if given, else the
    preferred type of ``Accept`` that names a format, else JSONL."""
    if given is not None:
        return given
    offers: list[tuple[float, int, FeedbackFormat]] = []
    for index, part in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        fmt = ACCEPTED.get(media.lower())
        if fmt is None:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            offers.append((-q, index, fmt))
    return min(offers)[2] if offers else "jsonl"


# One feedback record: name and kind of each column, in order. The names are the API's
# (the Twilio resource, and the lifecycle fields of /v1/Review).
FEEDBACK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "string"),
    ("account_sid", "string"),
    ("assistant_id", "string"),
    ("session_id", "string"),
    ("message_id", "string"),
    ("user_sid", "string"),  # the end user (US…)
    ("user_identity", "string"),  # …and the identity the application named them by
    ("score", "float"),
    ("text", "string"),
    ("feedback_type", "string"),  # positive | negative | null
    ("status", "string"),
    ("channel", "string"),
    ("reason", "string"),
    ("question", "string"),  # the user turn before the rated message
    ("reply", "string"),  # the rated message
    ("reviewed_by", "string"),  # a user SID, or the Account SID
    ("reviewed_at", "timestamp"),
    ("review_note", "string"),  # the note of the decision that set the status
    ("date_created", "timestamp"),
    ("date_updated", "timestamp"),
)
FEEDBACK_NAMES = tuple(name for name, _ in FEEDBACK_COLUMNS)

ROW_GROUP_ROWS = 10_000  # bounds the memory of a Parquet export (pyarrow buffers a group)


class Encoder(Protocol):
    """Rows in (a chunk at a time, each row its key first), bytes out."""

    def start(self) -> bytes: ...

    def count(self, rows: Sequence[Sequence[Any]]) -> int:
        """How many records these rows are."""
        ...

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes: ...

    def finish(self) -> bytes: ...


class _RowPerRecord:
    def count(self, rows: Sequence[Sequence[Any]]) -> int:
        return len(rows)


class JsonlEncoder(_RowPerRecord):
    def __init__(self, record: Callable[[Sequence[Any]], Any]) -> None:
        self.record = record

    def start(self) -> bytes:
        return b""

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        record, dumps = self.record, orjson.dumps
        # `dumps(…) + b"\n"` copies each line into a tight object: keeping orjson's own
        # results alive until the join was three times slower (their allocations are large)
        return b"".join([dumps(record(row)) + b"\n" for row in rows])

    def finish(self) -> bytes:
        return b""


class JsonLinesEncoder:
    """JSONL the database wrote: each chunk one row, its count of records and their lines
    (see :func:`thumbs.exports.service.export_feedback`)."""

    def start(self) -> bytes:
        return b""

    def count(self, rows: Sequence[Sequence[Any]]) -> int:
        return sum(row[0] for row in rows)

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        return b"".join([(row[1] + "\n").encode() for row in rows if row[0]])

    def finish(self) -> bytes:
        return b""


class CsvEncoder(_RowPerRecord):
    def __init__(self, names: Sequence[str]) -> None:
        self.names = names
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)

    def _take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode()

    def start(self) -> bytes:
        self.writer.writerow(self.names)
        return self._take()

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        self.writer.writerows(row[1:] for row in rows)
        return self._take()

    def finish(self) -> bytes:
        return b""


class _Sink:
    """A write-only file for pyarrow that hands over what was written so far."""

    closed = False

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        return None

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class ParquetEncoder(_RowPerRecord):
    def __init__(self, columns: Sequence[tuple[str, str]]) -> None:
        import pyarrow as pa  # imported on first use: it weighs ~60 MB in every process

        kinds: dict[str, pa.DataType] = {
            "string": pa.string(),
            "float": pa.float64(),
            "timestamp": pa.timestamp("ms", tz="UTC"),  # Parquet has no seconds unit
        }
        self.pa = pa
        self.schema = pa.schema([(name, kinds[kind]) for name, kind in columns])
        self.sink = _Sink()
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0

    def start(self) -> bytes:
        import pyarrow.parquet as pq

        self.writer = pq.ParquetWriter(cast(IO[bytes], self.sink), self.schema, compression="zstd")
        return self.sink.take()

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        pa = self.pa
        columns = list(zip(*rows, strict=True))[1:]
        # dates come as the API's strings; Arrow parses them (in C++) into timestamps
        arrays = [
            pa.array(values, type=pa.string()).cast(field.type)
            if pa.types.is_timestamp(field.type)
            else pa.array(values, type=field.type)
            for values, field in zip(columns, self.schema, strict=True)
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self.pending.append(batch)
        self.pending_rows += len(rows)
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._write_group()
        return self.sink.take()

    def _write_group(self) -> None:
        if not self.pending:
            return
        assert self.writer is not None
        table = self.pa.Table.from_batches(self.pending, schema=self.schema)
        self.writer.write_table(table, row_group_size=self.pending_rows)
        self.pending.clear()
        self.pending_rows = 0

    def finish(self) -> bytes:
        self._write_group()
        assert self.writer is not None
        self.writer.close()
        return self.sink.take()


def feedback_encoder(fmt: FeedbackFormat) -> Encoder:
    """CSV and Parquet read the key and the values of each record; JSONL the lines the
    database writes (:func:`thumbs.exports.service.export_feedback`)."""
    if fmt == "csv":
        return CsvEncoder(FEEDBACK_NAMES)
    if fmt == "parquet":
        return ParquetEncoder(FEEDBACK_COLUMNS)
    return JsonLinesEncoder()


# -- golden examples and preference pairs ----------------------------------------------------


def _messages(personality_prompt: str, turns: str) -> list[dict[str, str]]:
    """The system message (the assistant's personality prompt, when it has one), then the
    conversation (``turns``: the stored JSON list of ``{role, content}``)."""
    out = [{"role": "system", "content": personality_prompt}] if personality_prompt.strip() else []
    out.extend({"role": str(t["role"]), "content": str(t["content"])} for t in orjson.loads(turns))
    return out


def _openai_record(row: Sequence[Any]) -> dict[str, Any]:
    _pk, _gid, _aid, prompt, turns, output, *_ = row
    return {"messages": [*_messages(prompt, turns), {"role": "assistant", "content": output}]}


def _eval_record(row: Sequence[Any]) -> dict[str, Any]:
    _pk, gid, aid, prompt, turns, output, source, fid, mid, created = row
    return {
        "input": _messages(prompt, turns),
        "expected_output": output,
        "metadata": {
            "golden_example_id": gid,
            "assistant_id": aid,
            "feedback_id": fid,
            "message_id": mid,
            "source": source,
            "date_created": created,
        },
    }


def _dpo_record(row: Sequence[Any]) -> dict[str, Any]:
    _pk, prompt, turns, chosen, rejected = row
    return {
        "prompt": _messages(prompt, turns),
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


_GOLDEN_RECORDS: dict[str, Callable[[Sequence[Any]], dict[str, Any]]] = {
    "openai": _openai_record,
    "eval": _eval_record,
    "dpo": _dpo_record,
}


def golden_encoder(fmt: GoldenFormat) -> Encoder:
    return JsonlEncoder(_GOLDEN_RECORDS[fmt])
