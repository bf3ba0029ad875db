"""Exports of feedback and golden examples, streamed in constant memory (no HTTP here).

An export is an iterator of :class:`Chunk`: the rows are read ``CHUNK_ROWS`` at a time in
primary-key order (:func:`thumbs.kit.paging.keyset_chunks`: the chunk's edge found on an
index, then ``WHERE pk > first AND pk <= last``, each in a short read transaction), by
``READERS`` threads at once (``POSTGRESQL_READERS`` on PostgreSQL), while the consumer
encodes and sends the chunk before (:func:`thumbs.kit.streams.read_ordered`: SQLite and
psycopg release the GIL while the database works, so reading uses both cores). The server
streams the chunks as the body of one response; the CLI writes them to a file. Memory holds
a few chunks (and, for Parquet, one row group) whatever the number of rows.

A JSONL export of feedback is written by the database: each record's JSON text
(:class:`thumbs.store.sql.json_record`), and a chunk's records joined into lines
(:class:`thumbs.store.sql.joined_lines`), so that a chunk reaches Python as one string
and the encoder only makes it bytes. CSV and Parquet read the values and encode them here.

Feedback is selected with the one feedback filter (:mod:`thumbs.feedback.filters`), the
same the lists use; every row carries what the API says of that feedback (see
:data:`thumbs.exports.formats.FEEDBACK_COLUMNS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, Text, case, cast, func, literal, select
from sqlalchemy.orm import aliased

from thumbs.exports import formats
from thumbs.feedback.filters import FeedbackFilter, select_feedback
from thumbs.kit.paging import keyset_chunks
from thumbs.kit.streams import read_ordered
from thumbs.store.models import (
    Assistant,
    Feedback,
    FeedbackTransition,
    GoldenExample,
    Message,
    PreferencePair,
    User,
)
from thumbs.store.sql import api_time, joined_lines, json_record

CHUNK_ROWS = 2000
READERS = 2  # threads reading chunks at once
# on PostgreSQL the reads are the database's own processes building the JSON: a third keeps
# both cores busy while the consumer sends (measured: bench/README.md, "Exports and imports")
POSTGRESQL_READERS = 3


@dataclass(frozen=True, slots=True)
class Chunk:
    rows: int  # how many records this chunk's bytes hold
    data: bytes


def _feedback_values(flt: FeedbackFilter, *, account_sid: str) -> Select[Any]:
    """One row per feedback: its key, then its values in :data:`formats.FEEDBACK_COLUMNS`
    order, joined with its assistant, end user, reviewer and rated message. Every value
    comes out of the database as the record holds it (dates already as the API writes
    them), so that the encoders convert nothing per row."""
    rated = aliased(Message)
    asked = aliased(Message)
    end_user = aliased(User)
    reviewer = aliased(User)
    # the user turn before the rated message, in its session
    question = (
        select(asked.content)
        .where(asked.session_pk == rated.session_pk, asked.pk < rated.pk, asked.role == "user")
        .order_by(asked.pk.desc())
        .limit(1)
        .scalar_subquery()
    )
    # the note of the decision that set the current status
    note = (
        select(FeedbackTransition.note)
        .where(
            FeedbackTransition.feedback_pk == Feedback.pk,
            FeedbackTransition.to_status == Feedback.status,
        )
        .order_by(FeedbackTransition.pk.desc())
        .limit(1)
        .scalar_subquery()
    )
    # as the API says it (review.service.feedbacks_out): the reviewing user, or the account
    # itself when its own credentials decided
    reviewed_by = case(
        (reviewer.sid.is_not(None), reviewer.sid),
        (Feedback.reviewed_at.is_not(None), literal(account_sid)),
        else_=None,
    )
    return (
        select_feedback(
            flt,
            Feedback.pk,
            Feedback.id,
            literal(account_sid),
            Assistant.id,
            Feedback.session_id,
            Feedback.message_id,
            Feedback.user_sid,
            end_user.identity,
            Feedback.score,
            Feedback.text,
            Feedback.feedback_type,
            Feedback.status,
            Feedback.channel,
            Feedback.reason,
            case((rated.pk.is_not(None), question), else_=None),
            rated.content,
            reviewed_by,
            api_time(Feedback.reviewed_at),
            case((Feedback.reviewed_at.is_not(None), note), else_=None),
            api_time(Feedback.date_created),
            api_time(Feedback.date_updated),
        )
        .join(Assistant, Assistant.pk == Feedback.assistant_pk)
        .outerjoin(rated, rated.pk == Feedback.message_pk)
        .outerjoin(end_user, end_user.pk == Feedback.user_pk)
        .outerjoin(reviewer, reviewer.pk == Feedback.reviewed_by_pk)
    )


def _feedback_statement(
    flt: FeedbackFilter, *, account_sid: str, fmt: formats.FeedbackFormat
) -> Select[Any]:
    """What the encoder of ``fmt`` reads: the key and the values, or (JSONL) the key and
    the record's JSON text, written by the database (:class:`thumbs.store.sql.json_record`)."""
    stmt = _feedback_values(flt, account_sid=account_sid)
    if fmt != "jsonl":
        return stmt
    key, *values = stmt.selected_columns
    return stmt.with_only_columns(
        key.label("key"), json_record(formats.FEEDBACK_NAMES, values).label("record")
    )


def _lines(chunk: Select[Any]) -> Select[Any]:
    """A chunk of (key, JSON text) rows as one row: how many, and their lines (the
    database joins them: the reader then converts one value per chunk, not two per row)."""
    rows = chunk.subquery()
    lines: Select[*tuple[Any, ...]] = select(func.count(), joined_lines(rows.c.record, rows.c.key))
    return lines


def _stream(
    engine: Engine,
    stmt: Select[Any],
    key: Any,
    encoder: formats.Encoder,
    *,
    gather: Callable[[Select[Any]], Select[Any]] | None = None,
) -> Iterator[Chunk]:
    head = encoder.start()
    if head:
        yield Chunk(0, head)
    chunks = keyset_chunks(engine, stmt, key, size=CHUNK_ROWS, gather=gather)
    workers = POSTGRESQL_READERS if engine.dialect.name == "postgresql" else READERS
    for rows in read_ordered(chunks, workers=workers):
        # empty when buffered (a Parquet row group fills up over several chunks)
        yield Chunk(encoder.count(rows), encoder.encode(rows))
    tail = encoder.finish()
    if tail:
        yield Chunk(0, tail)


def export_feedback(
    engine: Engine, *, flt: FeedbackFilter, account_sid: str, fmt: formats.FeedbackFormat
) -> Iterator[Chunk]:
    """Every feedback ``flt`` selects, oldest first, encoded as ``fmt``."""
    stmt = _feedback_statement(flt, account_sid=account_sid, fmt=fmt)
    gather = _lines if fmt == "jsonl" else None
    return _stream(engine, stmt, Feedback.pk, formats.feedback_encoder(fmt), gather=gather)


def count_feedback(engine: Engine, *, flt: FeedbackFilter) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select_feedback(flt, func.count())).scalar_one())


# -- golden examples and preference pairs ----------------------------------------------------


def _golden_statement(*, account_pk: int, assistant_pk: int | None) -> Select[Any]:
    """The active golden examples, with what the training formats need."""
    stmt: Select[*tuple[Any, ...]] = (
        select(
            GoldenExample.pk,
            GoldenExample.id,
            Assistant.id,
            Assistant.personality_prompt,
            cast(GoldenExample.input, Text),  # JSON text on both stores
            GoldenExample.output,
            GoldenExample.source,
            Feedback.id,
            Message.id,
            api_time(GoldenExample.date_created),
        )
        .join(Assistant, Assistant.pk == GoldenExample.assistant_pk)
        .outerjoin(Feedback, Feedback.pk == GoldenExample.feedback_pk)
        .outerjoin(Message, Message.pk == GoldenExample.message_pk)
        .where(GoldenExample.account_pk == account_pk, GoldenExample.status == "active")
    )
    if assistant_pk is not None:
        stmt = stmt.where(GoldenExample.assistant_pk == assistant_pk)
    return stmt


def _pairs_statement(*, account_pk: int, assistant_pk: int | None) -> Select[Any]:
    """The active preference pairs, with their assistant's personality prompt."""
    stmt: Select[*tuple[Any, ...]] = (
        select(
            PreferencePair.pk,
            Assistant.personality_prompt,
            cast(PreferencePair.input, Text),
            PreferencePair.chosen,
            PreferencePair.rejected,
        )
        .join(Assistant, Assistant.pk == PreferencePair.assistant_pk)
        .where(PreferencePair.account_pk == account_pk, PreferencePair.status == "active")
    )
    if assistant_pk is not None:
        stmt = stmt.where(PreferencePair.assistant_pk == assistant_pk)
    return stmt


def export_golden(
    engine: Engine, *, account_pk: int, assistant_pk: int | None, fmt: formats.GoldenFormat
) -> Iterator[Chunk]:
    """The active golden examples (``openai``, ``eval``) or preference pairs (``dpo``) of
    the account or one assistant, oldest first."""
    if fmt == "dpo":
        stmt = _pairs_statement(account_pk=account_pk, assistant_pk=assistant_pk)
        key: Any = PreferencePair.pk
    else:
        stmt = _golden_statement(account_pk=account_pk, assistant_pk=assistant_pk)
        key = GoldenExample.pk
    return _stream(engine, stmt, key, formats.golden_encoder(fmt))


def count_golden(engine: Engine, *, account_pk: int, assistant_pk: int | None, fmt: str) -> int:
    if fmt == "dpo":
        stmt = _pairs_statement(account_pk=account_pk, assistant_pk=assistant_pk)
    else:
        stmt = _golden_statement(account_pk=account_pk, assistant_pk=assistant_pk)
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
