"""Analytics over feedback (no HTTP): summaries and series from the rollups, breakdowns,
worst-rated replies, agreement with reviewers, reasons, and comparisons.

Every reader takes a :class:`FeedbackFilter` (the one the lists use). Summaries and series
split their date range into whole UTC days (``feedback_rollup_days``), whole UTC hours
(``feedback_rollup_hours``) and the minutes left at the edges, read from the rows through
the ``(assistant_pk, date_created)`` index (once per assistant of the account); their cost
grows with the number of buckets, not of feedback. A filter the rollups do not hold
(session, message, end user, has-reason) reads the matching rows instead, through the
shared filter: the session filter is served by the ``(assistant_pk, session_id)`` index
when an assistant is given, the end-user filter by ``(user_pk, date_created)``. Breakdowns
by session, end user and reviewer, the worst-rated replies and the reasons read rows too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from thumbs.analytics import formats as fmt
from thumbs.analytics import reasons, stats, timeline
from thumbs.assistants import service as assistants
from thumbs.conversations import service as conversations
from thumbs.feedback.filters import NO_TYPE, FeedbackFilter, account_assistants, select_feedback
from thumbs.kit import errors as E
from thumbs.kit.timefmt import EPOCH, iso, utcnow
from thumbs.review import service as review
from thumbs.store import rollups
from thumbs.store.models import REVIEW_TIME_EDGES, Assistant, Feedback, Message, User
from thumbs.store.sql import epoch_seconds
from thumbs.users import service as users

TYPES = ("positive", "negative", NO_TYPE)
STATUSES = ("pending", "auto_approved", "reviewed", "dismissed")
CHANNELS = ("api", "thumbs")
DIMENSIONS = ("assistant_pk", "feedback_type", "status", "channel")

# the years analytics counts, and the range of "no bound": whole UTC days
BEGINNING = datetime(1970, 1, 1)
END = datetime(9000, 1, 1)
DAY_SECONDS = rollups.DAY
HOUR_SECONDS = rollups.HOUR
# a query's ranges of rollup buckets, listed one by one up to this many (else min..max)
LISTED_RANGES = 64
# newest negative reasons read for the words and phrases
REASONS_SCANNED = 10_000
# ranges of rows per statement (SQLite allows 500 members in a UNION ALL)
RANGES_PER_STATEMENT = 400
# worst-rated replies considered before ranking by their interval
WORST_CANDIDATES = 500

Values = list[Any]
Cells = dict[tuple[Any, ...], Values]


# -- the filter ------------------------------------------------------------------------------


def filter_for(
    session: Session,
    *,
    account_pk: int,
    assistant_id: str | None = None,
    session_id: str | None = None,
    user_sid: str | None = None,
    identity: str | None = None,
    feedback_type: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> FeedbackFilter:
    """The shared feedback filter from public ids (an unknown assistant or user is a 404)."""
    assistant_pk = None
    if assistant_id:
        assistant_pk = assistants.get(session, account_pk=account_pk, assistant_id=assistant_id).pk
    user_pk = None
    if user_sid:
        user_pk = users.get(session, account_pk=account_pk, sid=user_sid).pk
    elif identity:
        found = users.find_by_identity(session, account_pk=account_pk, identity=identity)
        if found is None:
            raise E.NotFound("User", identity[:64], field="Identity")
        user_pk = found.pk
    since, until = clamp(since), clamp(until)
    if since is not None and until is not None and since >= until:
        raise E.InvalidField(
            E.INVALID_QUERY,
            "DateCreatedBefore",
            "DateCreatedBefore must be later than DateCreatedAfter",
        )
    return FeedbackFilter(
        account_pk=account_pk,
        assistant_pk=assistant_pk,
        session_id=session_id or None,
        user_pk=user_pk,
        feedback_type=feedback_type or None,
        status=status or None,
        channel=channel or None,
        created_after=since,
        created_before=until,
    )


def clamp(value: datetime | None) -> datetime | None:
    """A date inside the years analytics counts (``BEGINNING`` to ``END``)."""
    if value is None:
        return None
    return min(max(value, BEGINNING), END)


def rows_only(flt: FeedbackFilter) -> bool:
    """Whether the filter has a criterion the rollups do not hold."""
    return any(v is not None for v in (flt.session_id, flt.message_id, flt.user_pk, flt.has_reason))


# -- sums over time slots: rollups where they apply, rows elsewhere --------------------------


@dataclass(frozen=True, slots=True)
class _Range:
    low: Any
    high: Any
    slot: int


def _floor(value: datetime, seconds: int) -> datetime:
    return EPOCH + (value - EPOCH) // (rollups.SECOND * seconds) * (rollups.SECOND * seconds)


def _ceil(value: datetime, seconds: int) -> datetime:
    floor = _floor(value, seconds)
    return floor if floor == value else floor + rollups.SECOND * seconds


def _bucket(value: datetime, seconds: int) -> int:
    return rollups.epoch(value) // seconds


def split(
    low: datetime, high: datetime
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[datetime, datetime]]]:
    """``[low, high)`` as whole UTC days, whole UTC hours and the minutes left over."""
    if low >= high:
        return [], [], []
    h_low, h_high = _ceil(low, HOUR_SECONDS), _floor(high, HOUR_SECONDS)
    if h_low >= h_high:
        return [], [], [(low, high)]
    minutes = [r for r in ((low, h_low), (h_high, high)) if r[0] < r[1]]
    d_low, d_high = _ceil(h_low, DAY_SECONDS), _floor(h_high, DAY_SECONDS)
    if d_low >= d_high:
        return [], [(_bucket(h_low, HOUR_SECONDS), _bucket(h_high, HOUR_SECONDS))], minutes
    hours = [
        (_bucket(a, HOUR_SECONDS), _bucket(b, HOUR_SECONDS))
        for a, b in ((h_low, d_low), (d_high, h_high))
        if a < b
    ]
    return [(_bucket(d_low, DAY_SECONDS), _bucket(d_high, DAY_SECONDS))], hours, minutes


def _row_dimension(name: str) -> ColumnElement[Any]:
    if name == "feedback_type":
        return rollups.type_of_row()
    column: ColumnElement[Any] = getattr(Feedback, name)
    return column


@dataclass(frozen=True, slots=True)
class _Query:
    """What to sum: per value of ``dims``, these ``measures``, of the cells (or rows) that
    have a review when ``reviewed_only``."""

    flt: FeedbackFilter
    dims: Sequence[str]
    measures: Sequence[str]
    reviewed_only: bool


def _rollup_sums(
    session: Session, table: Table, q: _Query, ranges: list[_Range]
) -> Iterator[tuple[int, tuple[Any, ...], Values]]:
    t, flt, dims = table.c, q.flt, q.dims
    # An assistant is one of the account's (``filter_for`` found it there): its cells are
    # read by the primary key alone, which PostgreSQL's planner would not always choose
    # next to the account's index.
    where: list[ColumnElement[bool]] = (
        [t.assistant_pk == flt.assistant_pk]
        if flt.assistant_pk is not None
        else [t.account_pk == flt.account_pk]
    )
    for name, value in (
        ("feedback_type", flt.feedback_type),
        ("status", flt.status),
        ("channel", flt.channel),
    ):
        if value is not None:
            where.append(t[name] == value)
    if q.reviewed_only:
        where.append(t.reviewed > 0)
    single = len({r.slot for r in ranges}) == 1  # then no need to tell the buckets apart
    if len(ranges) <= LISTED_RANGES:
        where.append(or_(*(and_(t.bucket >= r.low, t.bucket < r.high) for r in ranges)))
    else:
        where += [t.bucket >= ranges[0].low, t.bucket < ranges[-1].high]
    keys: list[Any] = [t[d] for d in dims] if single else [t.bucket, *(t[d] for d in dims)]
    sums = [_sum_of(table, m) for m in q.measures]
    starts = [r.low for r in ranges]
    width = len(dims)
    for row in session.execute(select(*keys, *sums).where(*where).group_by(*keys)):
        if single:
            yield ranges[0].slot, tuple(row[:width]), list(row[width:])
            continue
        i = bisect_right(starts, row[0]) - 1
        if i >= 0 and row[0] < ranges[i].high:
            yield ranges[i].slot, tuple(row[1 : 1 + width]), list(row[1 + width :])


_SUMS: dict[tuple[str, str], ColumnElement[Any]] = {}


def _sum_of(table: Table, measure: str) -> ColumnElement[Any]:
    """``SUM(table.measure)`` (``positive``/``negative``: ``n`` of that type), built once."""
    key = (table.name, measure)
    found = _SUMS.get(key)
    if found is None:
        t = table.c
        if measure in VERDICTS:
            kind = literal_column(f"'{measure}'", String)
            found = func.sum(case((t.feedback_type == kind, t.n), else_=0)).label(measure)
        else:
            found = func.sum(t[measure]).label(measure)
        _SUMS[key] = found
    return found


def _row_measures(names: Sequence[str]) -> list[ColumnElement[Any]]:
    out: list[ColumnElement[Any]] = []
    for name in names:
        if name in VERDICTS:
            kind = literal_column(f"'{name}'", String)
            out.append(func.sum(case((Feedback.feedback_type == kind, 1), else_=0)).label(name))
        else:
            out.extend(rollups.measure_columns([name]))
    return out


def _rows(flt: FeedbackFilter, *entities: Any) -> Select[Any]:
    """``select_feedback`` with the account's rows reached through its assistants' date
    index (see ``_row_scope``)."""
    return select_feedback(flt, *entities).where(*_row_scope(flt))


def _row_scope(flt: FeedbackFilter) -> list[ColumnElement[bool]]:
    """Account-wide reads of rows by date go through ``(assistant_pk, date_created)`` once
    per assistant of the account (unless the end user's own index serves them)."""
    if flt.assistant_pk is not None or flt.user_pk is not None or flt.through_assistants:
        return []
    return [Feedback.assistant_pk.in_(account_assistants(flt.account_pk))]


def _ranges_cte(ranges: Sequence[_Range]) -> Any:
    """``WITH ranges (slot, low, high) AS (SELECT ?, ?, ? UNION ALL …)``: bound parameters,
    so the statement is compiled once per number of ranges (compiling it costs more than
    running it; a ``VALUES`` list would be compiled anew every time)."""
    rows = [
        select(
            bindparam(f"slot_{i}", r.slot, Integer).label("slot"),
            bindparam(f"low_{i}", r.low, DateTime).label("low"),
            bindparam(f"high_{i}", r.high, DateTime).label("high"),
        )
        for i, r in enumerate(ranges)
    ]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).cte("ranges")


def _row_sums(
    session: Session, q: _Query, ranges: list[_Range]
) -> Iterator[tuple[int, tuple[Any, ...], Values]]:
    """The rows' sums per range, one index range scan per range: a plain ``WHERE`` for one
    range; for many, a list of them joined to the rows (SQLite loops over the list) or, on
    PostgreSQL, a ``LATERAL`` subquery per range (its planner does not expect a join on two
    inequalities to be selective and would scan the table)."""
    keys = [_row_dimension(d).label(d) for d in q.dims]
    columns = _row_measures(q.measures)
    scope = _row_scope(q.flt)
    if q.reviewed_only:
        scope.append(Feedback.reviewed_at.is_not(None))
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and len(ranges) > 1:
        # it would also expect thousands of rows per range and spend far longer compiling
        # the plan to machine code (JIT) than running it
        session.execute(text("SET LOCAL jit = off"))
    statements: list[Select[Any]] = []
    if len(ranges) == 1:
        (r,) = ranges
        statements.append(
            select_feedback(q.flt, literal_column(str(r.slot)).label("slot"), *keys, *columns)
            .where(*scope, Feedback.date_created >= r.low, Feedback.date_created < r.high)
            .group_by(*keys)
        )
    for start in range(0, len(ranges) if len(ranges) > 1 else 0, RANGES_PER_STATEMENT):
        listed = _ranges_cte(ranges[start : start + RANGES_PER_STATEMENT])
        inside = and_(Feedback.date_created >= listed.c.low, Feedback.date_created < listed.c.high)
        if postgresql:
            cells = (
                select_feedback(q.flt, *keys, *columns)
                .where(*scope, inside)
                .group_by(*keys)
                .lateral("cells")
            )
            statements.append(
                select(listed.c.slot, *(cells.c[name] for name in (*q.dims, *q.measures)))
                .select_from(listed)
                .join(cells, true())
            )
        else:
            statements.append(
                select_feedback(q.flt, listed.c.slot, *keys, *columns)
                .join_from(Feedback, listed, inside)
                .where(*scope)
                .group_by(listed.c.slot, *keys)
            )
    width = len(q.dims)
    for stmt in statements:
        for row in session.execute(stmt):
            yield int(row[0]), tuple(row[1 : 1 + width]), list(row[1 + width :])


VOLUME = ("n", "scored", "score_sum")
MAIN = (*VOLUME, "with_text", "with_reason", "reviewed", "review_seconds")
# measures made of the type dimension: n of the positive (negative) feedback
VERDICTS = ("positive", "negative")
RATED = (*VOLUME, *VERDICTS)


def sums(
    session: Session,
    flt: FeedbackFilter,
    slots: Sequence[tuple[datetime, datetime]],
    dims: Sequence[str],
    measures: Sequence[str] = VOLUME,
    *,
    reviewed_only: bool = False,
) -> list[Cells]:
    """Per slot ``[low, high)``: these ``measures`` (of ``rollups.MEASURES``, in this order)
    of the filtered feedback, summed per value of ``dims`` (names of ``DIMENSIONS``). The
    filter's own dates are not used."""
    q = _Query(flt.narrowed(created_after=None, created_before=None), dims, measures, reviewed_only)
    days: list[_Range] = []
    hours: list[_Range] = []
    minutes: list[_Range] = []
    for slot, (low, high) in enumerate(slots):
        if rows_only(q.flt):
            minutes.append(_Range(low, high, slot))
            continue
        whole_days, whole_hours, rest = split(low, high)
        days += [_Range(a, b, slot) for a, b in whole_days]
        hours += [_Range(a, b, slot) for a, b in whole_hours]
        minutes += [_Range(a, b, slot) for a, b in rest]
    out: list[Cells] = [{} for _ in slots]
    parts: list[Iterable[tuple[int, tuple[Any, ...], Values]]] = []
    if days:
        parts.append(_rollup_sums(session, rollups.DAYS, q, days))
    if hours:
        parts.append(_rollup_sums(session, rollups.HOURS, q, hours))
    if minutes:
        parts.append(_row_sums(session, q, minutes))
    for part in parts:
        for slot, key, values in part:
            cell = out[slot].get(key)
            if cell is None:
                # an aggregate without GROUP BY over nothing is one row of NULLs
                out[slot][key] = [0 if v is None else v for v in values]
            else:
                for i, v in enumerate(values):
                    if v is not None:
                        cell[i] += v
    # PostgreSQL sums integers as numeric: plain numbers out
    kinds = [float if m == "score_sum" else int for m in measures]
    for cells in out:
        for values in cells.values():
            values[:] = [k(v) for k, v in zip(kinds, values, strict=True)]
    return out


def _range_of(flt: FeedbackFilter) -> tuple[datetime, datetime]:
    return flt.created_after or BEGINNING, flt.created_before or END


# -- summary ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    """Positive and negative verdicts, the positive rate and its Wilson 95 % interval."""

    positive: int
    negative: int

    @property
    def rated(self) -> int:
        return self.positive + self.negative

    @property
    def value(self) -> float | None:
        return stats.rate(self.positive, self.rated)

    @property
    def interval(self) -> stats.Interval | None:
        return stats.wilson(self.positive, self.rated)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums of ``rollups.MEASURES`` (those not read count 0), with what they say."""

    values: dict[str, Any]

    @classmethod
    def of(cls, cells: Iterable[Values], measures: Sequence[str]) -> Totals:
        total: dict[str, Any] = dict.fromkeys(measures, 0)
        for values in cells:
            for name, v in zip(measures, values, strict=True):
                total[name] += v
        return cls(total)

    def __getitem__(self, name: str) -> Any:
        return self.values.get(name, 0)

    @property
    def count(self) -> int:
        return int(self["n"])

    @property
    def mean_score(self) -> float | None:
        return self["score_sum"] / self["scored"] if self["scored"] else None

    def share(self, measure: str) -> float | None:
        return self[measure] / self.count if self.count else None

    @property
    def median_time_to_review(self) -> stats.MedianEstimate | None:
        return stats.histogram_median([self[name] for name in rollups.RT], REVIEW_TIME_EDGES)

    @property
    def mean_time_to_review(self) -> float | None:
        return self["review_seconds"] / self["reviewed"] if self["reviewed"] else None


@dataclass(frozen=True, slots=True)
class Summary:
    totals: Totals
    rate: Rate
    by_type: dict[str, int]
    by_status: dict[str, int]
    cells: Cells  # MAIN by (feedback_type, status)
    source: str  # rollups | rows


def _count_by(cells: Cells, index: int, names: Sequence[str]) -> dict[str, int]:
    """Counts (the first measure, ``n``) per value of one of the cells' dimensions."""
    out = dict.fromkeys(names, 0)
    for key, values in cells.items():
        out[key[index]] = out.get(key[index], 0) + values[0]
    return out


def summary(session: Session, *, flt: FeedbackFilter) -> Summary:
    """Everything of ``MAIN`` per type and status; the time-to-review histogram from the
    cells that have reviews only."""
    span = [_range_of(flt)]
    (cells,) = sums(session, flt, span, ("feedback_type", "status"), MAIN)
    totals = Totals.of(cells.values(), MAIN)
    if totals["reviewed"]:
        (bins,) = sums(session, flt, span, (), rollups.RT, reviewed_only=True)
        totals = Totals({**totals.values, **Totals.of(bins.values(), rollups.RT).values})
    by_type = _count_by(cells, 0, TYPES)
    return Summary(
        totals=totals,
        rate=Rate(by_type["positive"], by_type["negative"]),
        by_type=by_type,
        by_status=_count_by(cells, 1, STATUSES),
        cells=cells,
        source="rows" if rows_only(flt) else "rollups",
    )


# -- series ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    bucket: timeline.Bucket
    totals: Totals
    rate: Rate


@dataclass(frozen=True, slots=True)
class Series:
    interval: str
    time_zone: str
    since: datetime
    until: datetime
    points: list[Point]


def series(session: Session, *, flt: FeedbackFilter, interval: str, time_zone: str) -> Series:
    """Buckets of ``interval`` in ``time_zone`` over the filter's dates (by default the last
    ``timeline.DEFAULT_BUCKETS`` buckets); every bucket is present, empty ones with zeros.
    The first and last buckets count only what lies inside the range."""
    tz = timeline.zone(time_zone)
    since, until = timeline.default_range(
        interval, tz, flt.created_after, flt.created_before, utcnow()
    )
    found = timeline.buckets(interval, tz, since, until)
    slots = [(max(b.start_utc, since), min(b.end_utc, until)) for b in found]
    cells = sums(session, flt, slots, (), RATED)
    points = []
    for bucket, per in zip(found, cells, strict=True):
        totals = Totals.of(per.values(), RATED)
        points.append(Point(bucket, totals, Rate(totals["positive"], totals["negative"])))
    return Series(interval, time_zone, since, until, points)


# -- breakdowns ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """One row of a breakdown."""

    key: dict[str, Any]
    count: int
    rate: Rate
    mean_score: float | None


def by_assistant(session: Session, *, flt: FeedbackFilter) -> list[Group]:
    (cells,) = sums(session, flt, [_range_of(flt)], ("assistant_pk", "feedback_type"), VOLUME)
    per: dict[int, Cells] = {}
    for (assistant_pk, kind), values in cells.items():
        per.setdefault(assistant_pk, {})[(kind,)] = values
    names = {
        a.pk: a
        for a in session.scalars(
            select(Assistant).where(
                Assistant.account_pk == flt.account_pk, Assistant.pk.in_(list(per))
            )
        )
    }
    out = []
    for pk, by_type in per.items():
        totals = Totals.of(by_type.values(), VOLUME)
        if not totals.count or pk not in names:
            continue
        rate = Rate(by_type.get(("positive",), [0])[0], by_type.get(("negative",), [0])[0])
        a = names[pk]
        out.append(
            Group({"assistant_id": a.id, "name": a.name}, totals.count, rate, totals.mean_score)
        )
    out.sort(key=lambda g: (-g.count, g.key["name"]))
    return out


def _tally() -> list[ColumnElement[Any]]:
    return [
        func.count().label("count"),
        func.coalesce(func.sum(case((Feedback.feedback_type == "positive", 1), else_=0)), 0).label(
            "positive"
        ),
        func.coalesce(func.sum(case((Feedback.feedback_type == "negative", 1), else_=0)), 0).label(
            "negative"
        ),
        func.avg(Feedback.score).label("mean_score"),
    ]


def _group(key: dict[str, Any], row: Any) -> Group:
    mean = row.mean_score
    return Group(
        key,
        int(row.count),
        Rate(int(row.positive), int(row.negative)),
        float(mean) if mean is not None else None,
    )


def _top(stmt: Select[Any], limit: int) -> Select[Any]:
    return stmt.order_by(func.count().desc()).limit(limit)


def by_session(session: Session, *, flt: FeedbackFilter, limit: int) -> list[Group]:
    stmt = _top(
        _rows(flt, Feedback.session_id, *_tally()).group_by(Feedback.session_id),
        limit,
    )
    return [_group({"session_id": r.session_id}, r) for r in session.execute(stmt)]


def by_end_user(session: Session, *, flt: FeedbackFilter, limit: int) -> list[Group]:
    stmt = _top(
        _rows(flt, Feedback.user_pk, *_tally())
        .where(Feedback.user_pk.is_not(None))
        .group_by(Feedback.user_pk),
        limit,
    )
    rows = session.execute(stmt).all()
    people = _users(session, flt.account_pk, {r.user_pk for r in rows})
    return [
        _group({"user_sid": u.sid, "identity": u.identity}, r)
        for r in rows
        if (u := people.get(r.user_pk)) is not None
    ]


def _users(session: Session, account_pk: int, pks: set[int]) -> dict[int, User]:
    if not pks:
        return {}
    found = session.scalars(
        select(User).where(User.account_pk == account_pk, User.pk.in_(list(pks)))
    )
    return {u.pk: u for u in found}


@dataclass(frozen=True, slots=True)
class Reviewer:
    user_sid: str | None  # None: decided with the account's own credentials
    email: str | None
    decided: int
    approved: int
    dismissed: int
    mean_time_to_review: float | None


def by_reviewer(session: Session, *, flt: FeedbackFilter, limit: int) -> list[Reviewer]:
    """Decisions standing now (reviewed or dismissed feedback) per reviewer."""
    waited = epoch_seconds(Feedback.reviewed_at) - epoch_seconds(Feedback.date_created)
    stmt = (
        _rows(
            flt,
            Feedback.reviewed_by_pk,
            func.count().label("decided"),
            func.coalesce(func.sum(case((Feedback.status == "reviewed", 1), else_=0)), 0).label(
                "approved"
            ),
            func.coalesce(func.sum(case((Feedback.status == "dismissed", 1), else_=0)), 0).label(
                "dismissed"
            ),
            func.avg(case((waited > 0, waited), else_=0)).label("mean_wait"),
        )
        .where(Feedback.reviewed_at.is_not(None))
        .group_by(Feedback.reviewed_by_pk)
        .order_by(func.count().desc())
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    people = _users(session, flt.account_pk, {r.reviewed_by_pk for r in rows if r.reviewed_by_pk})
    out = []
    for r in rows:
        person = people.get(r.reviewed_by_pk) if r.reviewed_by_pk is not None else None
        out.append(
            Reviewer(
                user_sid=person.sid if person else None,
                email=person.email if person else None,
                decided=int(r.decided),
                approved=int(r.approved),
                dismissed=int(r.dismissed),
                mean_time_to_review=float(r.mean_wait) if r.mean_wait is not None else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Agreement:
    """End users' verdicts of one type against the reviewers' decisions on them: approved
    (the reviewer agreed) or dismissed (overturned)."""

    feedback_type: str
    approved: int
    dismissed: int

    @property
    def decided(self) -> int:
        return self.approved + self.dismissed

    @property
    def overturned(self) -> float | None:
        return stats.rate(self.dismissed, self.decided)

    @property
    def overturned_interval(self) -> stats.Interval | None:
        return stats.wilson(self.dismissed, self.decided)


def agreement(summary: Summary) -> list[Agreement]:
    out = []
    for kind in ("positive", "negative", "all"):
        approved = dismissed = 0
        for (t, status), values in summary.cells.items():
            if t == NO_TYPE or kind not in ("all", t):
                continue
            if status == "reviewed":
                approved += values[0]
            elif status == "dismissed":
                dismissed += values[0]
        out.append(Agreement(kind, approved, dismissed))
    return out


@dataclass(frozen=True, slots=True)
class WorstReply:
    message_id: str
    assistant_id: str | None
    session_id: str | None
    question: str
    reply: str
    count: int
    rate: Rate
    mean_score: float | None

    @property
    def negative_interval(self) -> stats.Interval | None:
        return stats.wilson(self.rate.negative, self.rate.rated)


def worst_replies(session: Session, *, flt: FeedbackFilter, limit: int) -> list[WorstReply]:
    """Logged replies with negative verdicts, the most surely bad first: ranked by the lower
    end of the Wilson interval of their negative share (so 9 of 10 negative ranks above 1
    of 1), then by the number of negative verdicts."""
    stmt = (
        _rows(flt, Feedback.message_pk, *_tally())
        .where(Feedback.message_pk.is_not(None))
        .group_by(Feedback.message_pk)
        .having(func.sum(case((Feedback.feedback_type == "negative", 1), else_=0)) > 0)
        .order_by(func.sum(case((Feedback.feedback_type == "negative", 1), else_=0)).desc())
        .limit(WORST_CANDIDATES)
    )
    groups = [(r.message_pk, _group({}, r)) for r in session.execute(stmt)]

    def surely_bad(item: tuple[int, Group]) -> tuple[float, int]:
        ci = stats.wilson(item[1].rate.negative, item[1].rate.rated)
        return (-(ci[0] if ci else 0.0), -item[1].rate.negative)

    groups.sort(key=surely_bad)
    chosen = groups[:limit]
    messages = {
        m.pk: m
        for m in session.scalars(
            select(Message).where(
                Message.account_pk == flt.account_pk, Message.pk.in_([pk for pk, _ in chosen])
            )
        )
    }
    ids = conversations.assistant_ids(session, {m.assistant_pk for m in messages.values()})
    out = []
    for pk, g in chosen:
        reply = messages.get(pk)
        if reply is None:
            continue
        before = conversations.conversation_before(session, message=reply)
        out.append(
            WorstReply(
                message_id=reply.id,
                assistant_id=ids.get(reply.assistant_pk),
                session_id=review.session_id_of(session, reply),
                question=conversations.last_user_turn(before),
                reply=reply.content,
                count=g.count,
                rate=g.rate,
                mean_score=g.mean_score,
            )
        )
    return out


# -- reasons ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reasons:
    feedback_type: str
    scanned: int
    complete: bool  # every matching feedback was read (else the newest REASONS_SCANNED)
    words: list[reasons.Term]
    phrases: list[reasons.Term]


def frequent_reasons(session: Session, *, flt: FeedbackFilter, limit: int) -> Reasons:
    """Words and phrases of the reasons and texts of the filtered feedback (negative unless
    the filter says otherwise), newest first."""
    flt = flt if flt.feedback_type is not None else flt.narrowed(feedback_type="negative")
    said = or_(
        and_(Feedback.reason.is_not(None), Feedback.reason != ""),
        and_(Feedback.text.is_not(None), Feedback.text != ""),
    )
    rows = session.execute(
        _rows(flt, Feedback.id, Feedback.reason, Feedback.text)
        .where(said)
        .order_by(Feedback.pk.desc())
        .limit(REASONS_SCANNED + 1)
    ).all()
    complete = len(rows) <= REASONS_SCANNED
    rows = rows[:REASONS_SCANNED]

    def texts() -> Iterator[tuple[str, str]]:
        for r in rows:
            parts = [p for p in (r.reason, r.text) if p]
            if len(parts) == 2 and parts[0] == parts[1]:
                parts = parts[:1]
            yield r.id, "\n".join(parts)

    words, phrases = reasons.frequent_terms(texts(), limit=limit)
    return Reasons(flt.feedback_type or "negative", len(rows), complete, words, phrases)


# -- compare ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    a: Rate
    b: Rate
    difference: float | None  # rate of B minus rate of A
    interval: stats.Interval | None  # of the difference, 95 %
    z: float | None
    p_value: float | None
    verdict: str  # a_better | b_better | not_distinguishable
    message: str
    detectable: float  # the difference the power calculation is made for
    needed_per_group: int | None  # ratings each to tell it with 80 % power
    more_per_group: int | None  # how many more each side needs for that


def side_b(
    session: Session,
    *,
    a: FeedbackFilter,
    assistant_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> FeedbackFilter:
    """Side B of a comparison: A's filter with another assistant and/or other dates."""
    if assistant_id is None and since is None and until is None:
        raise E.InvalidField(
            E.MISSING_FIELD,
            "AssistantIdB",
            "Say what B is: AssistantIdB, or DateCreatedAfterB / DateCreatedBeforeB",
        )
    b = a
    if assistant_id is not None:
        b = b.narrowed(
            assistant_pk=assistants.get(
                session, account_pk=a.account_pk, assistant_id=assistant_id
            ).pk
        )
    if since is not None or until is not None:
        since, until = clamp(since), clamp(until)
        b = b.narrowed(created_after=since, created_before=until)
        if since is not None and until is not None and since >= until:
            raise E.InvalidField(
                E.INVALID_QUERY,
                "DateCreatedBeforeB",
                "DateCreatedBeforeB must be later than DateCreatedAfterB",
            )
    return b


def side_out(session: Session, flt: FeedbackFilter) -> dict[str, Any]:
    assistant_id = None
    if flt.assistant_pk is not None:
        assistant_id = session.scalar(select(Assistant.id).where(Assistant.pk == flt.assistant_pk))
    return {
        "assistant_id": assistant_id,
        "date_created_after": iso(flt.created_after),
        "date_created_before": iso(flt.created_before),
    }


def rates(session: Session, *, flt: FeedbackFilter) -> Rate:
    (cells,) = sums(session, flt, [_range_of(flt)], ("feedback_type",), ("n",))
    return Rate(cells.get(("positive",), [0])[0], cells.get(("negative",), [0])[0])


def _about(n: float) -> int:
    """``n`` rounded up to two significant digits (an honest "about")."""
    whole = max(1, int(-(-n // 1)))
    scale = 10 ** max(0, len(str(whole)) - 2)
    return int(-(-whole // scale) * scale)


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def compare(
    session: Session,
    *,
    a: FeedbackFilter,
    b: FeedbackFilter,
    detectable: float = 0.05,
    alpha: float = stats.ALPHA,
) -> Comparison:
    """The positive rates of A and B, their difference with Newcombe's interval, the
    two-proportion z-test, and in words: which is better, or how many more ratings each
    side needs to tell a difference of ``detectable`` (80 % power, two-sided ``alpha``)."""
    ra, rb = rates(session, flt=a), rates(session, flt=b)
    test = stats.two_proportion_z(ra.positive, ra.rated, rb.positive, rb.rated)
    diff = rb.value - ra.value if ra.value is not None and rb.value is not None else None
    interval = stats.newcombe_difference(ra.positive, ra.rated, rb.positive, rb.rated)
    points = f"{detectable * 100:g}-point"
    if test is not None and diff is not None and test[1] < alpha:
        winner = "B" if diff > 0 else "A"
        return Comparison(
            a=ra,
            b=rb,
            difference=diff,
            interval=interval,
            z=test[0],
            p_value=test[1],
            verdict=f"{winner.lower()}_better",
            message=f"{winner} is better: +{abs(diff) * 100:.1f} points, {_p(test[1])}",
            detectable=detectable,
            needed_per_group=None,
            more_per_group=None,
        )
    rated = ra.rated + rb.rated
    base = (ra.positive + rb.positive) / rated if rated else 0.5
    other = base + detectable if base + detectable <= 1 else base - detectable
    needed = _about(stats.sample_size(base, other, alpha=alpha))
    more = max(0, needed - min(ra.rated, rb.rated))
    if more:
        message = (
            f"not distinguishable yet: about {_about(more):,} more ratings each would tell "
            f"a {points} difference"
        )
    else:
        message = (
            f"not distinguishable: with {min(ra.rated, rb.rated):,} ratings each a {points} "
            "difference would most likely have shown, so any difference is probably smaller"
        )
    if test is not None:
        message += f" ({_p(test[1])})"
    return Comparison(
        a=ra,
        b=rb,
        difference=diff,
        interval=interval,
        z=test[0] if test else None,
        p_value=test[1] if test else None,
        verdict="not_distinguishable",
        message=message,
        detectable=detectable,
        needed_per_group=needed,
        more_per_group=more,
    )


# -- everything at once (the console's dashboard) --------------------------------------------


@dataclass(frozen=True, slots=True)
class Dashboard:
    summary: Summary
    series: Series
    agreement: list[Agreement]
    assistants: list[Group]
    sessions: list[Group]
    end_users: list[Group]
    reviewers: list[Reviewer]
    worst: list[WorstReply]
    reasons: Reasons
    comparison: Comparison | None


def dashboard(
    session: Session,
    *,
    flt: FeedbackFilter,
    interval: str,
    time_zone: str,
    b: FeedbackFilter | None,
    limit: int = 10,
) -> Dashboard:
    """The summary, the series, every breakdown, the reasons and (given a side B) the
    comparison of the same filtered feedback."""
    found = summary(session, flt=flt)
    return Dashboard(
        summary=found,
        series=series(session, flt=flt, interval=interval, time_zone=time_zone),
        agreement=agreement(found),
        assistants=by_assistant(session, flt=flt),
        sessions=by_session(session, flt=flt, limit=limit),
        end_users=by_end_user(session, flt=flt, limit=limit),
        reviewers=by_reviewer(session, flt=flt, limit=limit),
        worst=worst_replies(session, flt=flt, limit=limit),
        reasons=frequent_reasons(session, flt=flt, limit=limit),
        comparison=compare(session, a=flt, b=b) if b is not None else None,
    )


# -- the JSON shapes (API, CLI, console) -----------------------------------------------------


def _pair(interval: stats.Interval | None) -> list[float] | None:
    return [interval[0], interval[1]] if interval is not None else None


def rate_out(rate: Rate) -> dict[str, Any]:
    return {
        "positive": rate.positive,
        "negative": rate.negative,
        "positive_rate": rate.value,
        "positive_rate_ci": _pair(rate.interval),
    }


def summary_out(found: Summary) -> dict[str, Any]:
    t = found.totals
    median = t.median_time_to_review
    return {
        "source": found.source,
        "count": t.count,
        "mean_score": t.mean_score,
        **rate_out(found.rate),
        "by_type": found.by_type,
        "by_status": found.by_status,
        "with_text": t["with_text"],
        "with_text_share": t.share("with_text"),
        "with_reason": t["with_reason"],
        "with_reason_share": t.share("with_reason"),
        "reviewed": t["reviewed"],
        "reviewed_share": t.share("reviewed"),
        "median_time_to_review": (
            {"seconds": median.value, "low": median.low, "high": median.high}
            if median is not None
            else None
        ),
        "mean_time_to_review": t.mean_time_to_review,
    }


def series_out(found: Series) -> dict[str, Any]:
    return {
        "interval": found.interval,
        "time_zone": found.time_zone,
        "date_created_after": iso(found.since),
        "date_created_before": iso(found.until),
        "buckets": [
            {
                "start": p.bucket.start.isoformat(),
                "start_utc": iso(p.bucket.start_utc),
                "end_utc": iso(p.bucket.end_utc),
                "count": p.totals.count,
                "mean_score": p.totals.mean_score,
                **rate_out(p.rate),
            }
            for p in found.points
        ],
    }


def groups_out(groups: Sequence[Group]) -> list[dict[str, Any]]:
    return [
        {**g.key, "count": g.count, "mean_score": g.mean_score, **rate_out(g.rate)} for g in groups
    ]


def reviewers_out(found: Sequence[Reviewer]) -> list[dict[str, Any]]:
    return [
        {
            "user_sid": r.user_sid,
            "email": r.email,
            "decided": r.decided,
            "approved": r.approved,
            "dismissed": r.dismissed,
            "mean_time_to_review": r.mean_time_to_review,
        }
        for r in found
    ]


def agreement_out(found: Sequence[Agreement]) -> list[dict[str, Any]]:
    return [
        {
            "feedback_type": a.feedback_type,
            "approved": a.approved,
            "dismissed": a.dismissed,
            "decided": a.decided,
            "overturned": a.overturned,
            "overturned_ci": _pair(a.overturned_interval),
        }
        for a in found
    ]


def worst_out(found: Sequence[WorstReply]) -> list[dict[str, Any]]:
    return [
        {
            "message_id": w.message_id,
            "assistant_id": w.assistant_id,
            "session_id": w.session_id,
            "question": w.question,
            "reply": w.reply,
            "count": w.count,
            "mean_score": w.mean_score,
            **rate_out(w.rate),
            "negative_rate_ci": _pair(w.negative_interval),
        }
        for w in found
    ]


def reasons_out(found: Reasons) -> dict[str, Any]:
    def terms(items: Sequence[reasons.Term]) -> list[dict[str, Any]]:
        return [{"term": t.text, "count": t.count, "feedback_ids": t.examples} for t in items]

    return {
        "feedback_type": found.feedback_type,
        "scanned": found.scanned,
        "complete": found.complete,
        "words": terms(found.words),
        "phrases": terms(found.phrases),
    }


def comparison_out(found: Comparison, *, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``a`` and ``b``: how each side was chosen (assistant, dates)."""
    return {
        "a": {**a, **rate_out(found.a), "rated": found.a.rated},
        "b": {**b, **rate_out(found.b), "rated": found.b.rated},
        "difference": found.difference,
        "difference_ci": _pair(found.interval),
        "z": found.z,
        "p_value": found.p_value,
        "verdict": found.verdict,
        "message": found.message,
        "detectable_difference": found.detectable,
        "needed_per_group": found.needed_per_group,
        "more_per_group": found.more_per_group,
    }


def summary_table(out: dict[str, Any]) -> str:
    """A summary (``summary_out`` with the scope) as a table for the terminal."""
    median = out["median_time_to_review"]
    scope = out.get("assistant_id") or "all assistants"
    since = out.get("date_created_after") or "the start"
    dates = f"{since} to {out.get('date_created_before') or 'now'}"
    lines = [
        ("account", f"{out.get('account_sid', '')} ({scope})"),
        ("dates", dates),
        ("count", fmt.count(out["count"])),
        ("mean score", fmt.number(out["mean_score"])),
        ("positive", fmt.count(out["positive"])),
        ("negative", fmt.count(out["negative"])),
        ("positive rate", fmt.percent(out["positive_rate"])),
        ("95 % interval", fmt.interval(out["positive_rate_ci"])),
        *((f"type {k}", fmt.count(v)) for k, v in out["by_type"].items()),
        *((f"status {k}", fmt.count(v)) for k, v in out["by_status"].items()),
        ("with text", fmt.percent(out["with_text_share"])),
        ("with a reason", fmt.percent(out["with_reason_share"])),
        ("reviewed", fmt.percent(out["reviewed_share"])),
        ("median time to review", fmt.duration(median["seconds"] if median else None)),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)
