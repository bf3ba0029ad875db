"""Full-text search over an assistant's active golden examples (no network, no model).

SQLite: the FTS5 table ``golden_examples_fts`` (kept in sync by triggers, migration 0003),
ranked by BM25 with the prompt weighing twice the earlier turns. PostgreSQL: the weighted
tsvector ``PG_DOCUMENT`` (an expression GIN index, migration 0003) matched with
``websearch_to_tsquery`` and ranked by ``ts_rank_cd``.

A question is reduced to its words less common English stop words; an example matches when
it shares at least one of them (stemmed), and more shared words rank higher. Ties go to the
newest example, so a correction made in review wins over an older answer.

``min_coverage`` asks for real similarity: the share of the question's words (stemmed, by the
same full-text match) that an example must contain. One word in common with a long question
("Can I export invoices to PDF?" and "How do I export my data?") is not enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, case, column, func, literal_column, select, table, text
from sqlalchemy.orm import Session

from thumbs.store.models import GoldenExample

# Must stay identical to the expression of ix_golden_examples_fts (migration 0003).
PG_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, coalesce(prompt, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce("
    "jsonb_path_query_array(input::jsonb, '$[*].content')::text, '')), 'B')"
)

MAX_TERMS = 32
MAX_TERM_LEN = 64

_STOP_WORDS = """a about above after again all am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me
    more most my no nor not now of off on once only or other our ours out over own please
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours"""
STOP_WORDS = frozenset(_STOP_WORDS.split())

_WORD = re.compile(r"\w+", re.UNICODE)

_fts = table("golden_examples_fts", column("rowid"))
_FTS_MATCH = literal_column("golden_examples_fts").op("MATCH")


def query_terms(question: str) -> list[str]:
    """The distinct searchable words of a question, in order."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(question.lower()):
        word = match.group(0).strip("_")
        if word and word not in STOP_WORDS and len(word) <= MAX_TERM_LEN:
            seen.setdefault(word, None)
        if len(seen) >= MAX_TERMS:
            break
    return list(seen)


def _tsquery(words: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(literal_column("'english'::regconfig"), words)


def _count(conditions: Iterable[ColumnElement[bool]]) -> ColumnElement[int]:
    """How many of ``conditions`` hold, as one SQL expression."""
    parts = [case((c, 1), else_=0) for c in conditions]
    total: ColumnElement[int] = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def search_golden(
    session: Session,
    *,
    account_pk: int,
    assistant_pk: int,
    query: str,
    limit: int,
    min_coverage: float = 0.0,
) -> list[GoldenExample]:
    """The active golden examples of one assistant of one account that best match ``query``,
    best first, holding at least ``min_coverage`` of its words; an empty list when nothing
    matches."""
    terms = query_terms(query)
    if not terms or limit <= 0:
        return []
    scope: list[ColumnElement[bool]] = [
        GoldenExample.account_pk == account_pk,
        GoldenExample.assistant_pk == assistant_pk,
        GoldenExample.status == "active",
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Words hold no quote, so each quoted word is one FTS5 string (then stemmed).
        match = " OR ".join(f'"{t}"' for t in terms)
        shared = _count(
            GoldenExample.pk.in_(select(_fts.c.rowid).where(_FTS_MATCH(f'"{t}"'))) for t in terms
        )
        scope.append(shared >= min_coverage * len(terms))
        stmt = (
            select(GoldenExample)
            .join(_fts, _fts.c.rowid == GoldenExample.pk)
            .where(text("golden_examples_fts MATCH :match").bindparams(match=match), *scope)
            .order_by(text("bm25(golden_examples_fts, 2.0, 1.0)"), GoldenExample.pk.desc())
            .limit(limit)
        )
    elif dialect == "postgresql":
        document: ColumnElement[Any] = literal_column(PG_DOCUMENT)
        tsquery = _tsquery(" or ".join(terms))
        shared = _count(document.op("@@")(_tsquery(t)) for t in terms)
        scope.append(shared >= min_coverage * len(terms))
        stmt = (
            select(GoldenExample)
            .where(document.op("@@")(tsquery), *scope)
            .order_by(func.ts_rank_cd(document, tsquery).desc(), GoldenExample.pk.desc())
            .limit(limit)
        )
    else:  # pragma: no cover - thumbs supports SQLite and PostgreSQL only
        raise NotImplementedError(f"golden search on {dialect}")
    return list(session.scalars(stmt).all())
