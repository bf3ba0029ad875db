"""Rollups equal recomputation from rows: after any sequence of creates (the group-commit
writer's batches), score and text updates, verdict flips (thumbs resubmissions and Twilio
score updates), review decisions (approve, dismiss, auto-approval by the settings),
deletes of feedback and of an assistant with its feedback, every hour and day cell of the
account holds exactly what the database computes from the feedback rows (SQLite and
PostgreSQL). Hypothesis chooses the sequences."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy import text as sql

from thumbs.assistants import service as assistants
from thumbs.assistants.schemas import AssistantCreate
from thumbs.auth import service as auth
from thumbs.auth.service import Principal
from thumbs.conversations import service as conversations
from thumbs.feedback import service as feedback
from thumbs.feedback.schemas import FeedbackCreate, FeedbackUpdate
from thumbs.kit.timefmt import utcnow
from thumbs.review import service as review
from thumbs.review import submission
from thumbs.store import rollups
from thumbs.store.engine import Store
from thumbs.store.models import Feedback, Message, User

IDENTITIES = ("ann", "bob", "cy")


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.dispose()


@dataclass
class World:
    """One account with two assistants and a few logged replies to rate."""

    store: Store
    admin: Principal
    assistant_pks: list[int]
    reply_ids: list[str] = field(default_factory=list)


def new_world(store: Store) -> World:
    with store.session() as s:
        acc = auth.create_account(s, name="rollups")
        admin = Principal(
            account_pk=acc.account.pk, account_sid=acc.account.sid, credential_sid=acc.account.sid
        )
        pks = [
            assistants.create(s, account_pk=admin.account_pk, data=AssistantCreate(name=n)).pk
            for n in ("a", "b")
        ]
        world = World(store=store, admin=admin, assistant_pks=pks)
        for i, pk in enumerate(pks * 2):
            turn = conversations.log_turn(
                s,
                account_pk=admin.account_pk,
                assistant_pk=pk,
                session_id=f"s{i}",
                identity=None,
                body=f"question {i}",
                reply=f"answer {i}",
            )
            world.reply_ids.append(turn.reply.id)
    return world


def feedback_pks(world: World) -> list[int]:
    with world.store.sessions() as s:
        return list(
            s.scalars(
                select(Feedback.pk)
                .where(Feedback.account_pk == world.admin.account_pk)
                .order_by(Feedback.pk)
            )
        )


def pick(world: World, index: int) -> Feedback | None:
    pks = feedback_pks(world)
    if not pks:
        return None
    with world.store.sessions() as s:
        return s.get(Feedback, pks[index % len(pks)])


# -- the operations ------------------------------------------------------------------------

scores = st.one_of(st.none(), st.floats(0, 1), st.sampled_from([0.0, 0.5, 1.0]))
texts = st.one_of(st.none(), st.just(""), st.sampled_from(["slow", "wrong answer"]))


def create_batch(world: World, rows: list[tuple[int, float | None, str | None, int]]) -> None:
    """One writer batch: (assistant index, score, text, minutes ago) per feedback."""
    jobs = []
    with world.store.sessions() as s:
        refs = [
            feedback.assistant_ref(s, account_pk=world.admin.account_pk, assistant_id=a_id)
            for a_id in s.scalars(
                select(feedback.Assistant.id)
                .where(feedback.Assistant.pk.in_(world.assistant_pks))
                .order_by(feedback.Assistant.pk)
            )
        ]
    if not refs:
        return
    for which, score, text, minutes in rows:
        job = feedback.prepare_create(
            ref=refs[which % len(refs)],
            account_sid=world.admin.account_sid,
            data=FeedbackCreate(session_id="s", score=score, text=text),
            idempotency_key=None,
        )
        created = utcnow() - timedelta(minutes=minutes)
        job.row["date_created"] = job.row["date_updated"] = created
        jobs.append(job)
    with world.store.engine.begin() as conn:
        feedback.CREATE_KIND.write_many(conn, jobs)


def thumbs(world: World, reply: int, who: int, kind: str, reason: str | None) -> None:
    with world.store.sessions() as s:
        alive = list(s.scalars(select(Message.id).where(Message.id.in_(world.reply_ids))))
    if not alive:
        return
    with world.store.session() as s:
        submission.submit(
            s,
            actor=world.admin,
            identity=IDENTITIES[who % len(IDENTITIES)],
            message_id=alive[reply % len(alive)],
            feedback_type=kind,
            reason=reason,
        )


def flip(world: World, index: int, reason: str | None) -> None:
    """The end user changes their verdict on a reply they rated."""
    with world.store.sessions() as s:
        rated = s.execute(
            select(Feedback.message_id, Feedback.user_sid, Feedback.feedback_type)
            .where(Feedback.account_pk == world.admin.account_pk, Feedback.channel == "thumbs")
            .order_by(Feedback.pk)
        ).all()
        if not rated:
            return
        message_id, user_sid, kind = rated[index % len(rated)]
        identity = s.scalar(select(User.identity).where(User.sid == user_sid))
    assert message_id is not None
    assert identity is not None
    with world.store.session() as s:
        submission.submit(
            s,
            actor=world.admin,
            identity=identity,
            message_id=message_id,
            feedback_type="negative" if kind == "positive" else "positive",
            reason=reason,
        )


def update(world: World, index: int, score: float | None, text: str | None, which: int) -> None:
    fb = pick(world, index)
    if fb is None:
        return
    chosen: dict[str, Any] = [{"score": score}, {"text": text}, {"score": score, "text": text}][
        which % 3
    ]
    fields = {k: v for k, v in chosen.items() if v is not None}  # null is "left out"
    if not fields:
        return
    with world.store.session() as s:
        row = s.get(Feedback, fb.pk)
        assert row is not None
        review.update_feedback(
            s,
            feedback=row,
            data=FeedbackUpdate(**fields),
            positive_threshold=0.5,
            actor=world.admin,
        )


def decide(world: World, index: int, to_status: str) -> None:
    fb = pick(world, index)
    if fb is None or to_status not in review.ALLOWED[fb.status]:
        return
    with world.store.session() as s:
        row = s.get(Feedback, fb.pk)
        assert row is not None
        if to_status == "reviewed":
            review.approve(s, feedback=row, actor=world.admin, corrected_response=None, note=None)
        elif to_status == "dismissed":
            review.dismiss(s, feedback=row, actor=world.admin, note=None)
        else:
            review.move(s, feedback=row, to_status=to_status, actor=None, note=None)


def auto_approve(world: World, kind: str, on: bool) -> None:
    with world.store.session() as s:
        review.put_setting(
            s,
            account_pk=world.admin.account_pk,
            assistant=None,
            feedback_type=kind,
            auto_approve=on,
            require_reason=None,
        )


def delete_feedback(world: World, index: int) -> None:
    fb = pick(world, index)
    if fb is None:
        return
    with world.store.session() as s:
        row = s.get(Feedback, fb.pk)
        assert row is not None
        feedback.remove(s, feedback=row)


def delete_assistant(world: World, which: int) -> None:
    if not world.assistant_pks:
        return
    pk = world.assistant_pks.pop(which % len(world.assistant_pks))
    with world.store.session() as s:
        assistant = s.get(feedback.Assistant, pk)
        assert assistant is not None
        assistants.remove(s, assistant=assistant, cascade=True)


indexes = st.integers(0, 1000)
operations = st.one_of(
    st.tuples(
        st.just(create_batch),
        st.lists(
            st.tuples(st.integers(0, 1), scores, texts, st.integers(0, 60 * 24 * 40)),
            min_size=1,
            max_size=6,
        ),
    ),
    st.tuples(
        st.just(thumbs),
        indexes,
        indexes,
        st.sampled_from(["positive", "negative"]),
        st.one_of(st.none(), st.sampled_from(["too long", "wrong"])),
    ),
    st.tuples(st.just(flip), indexes, st.one_of(st.none(), st.just("changed my mind"))),
    st.tuples(st.just(update), indexes, scores, texts, indexes),
    st.tuples(
        st.just(decide), indexes, st.sampled_from(["reviewed", "dismissed", "auto_approved"])
    ),
    st.tuples(st.just(auto_approve), st.sampled_from(["positive", "negative"]), st.booleans()),
    st.tuples(st.just(delete_feedback), indexes),
    st.tuples(st.just(delete_assistant), indexes),
)


def assert_rollups_true(world: World) -> None:
    with world.store.engine.connect() as conn:
        stored = rollups.stored(conn, account_pk=world.admin.account_pk)
        expected = rollups.recomputed(conn, account_pk=world.admin.account_pk)
    for grain, cells in expected.items():
        have = stored[grain]
        assert set(have) == set(cells), grain
        for key, values in cells.items():
            for name, want, got in zip(rollups.MEASURES, values, have[key], strict=True):
                assert math.isclose(got, want, abs_tol=1e-9), (grain, key, name, got, want)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=1, max_size=14))
def test_rollups_equal_recomputation_after_any_writes(
    store: Store, steps: list[tuple[Any, ...]]
) -> None:
    world = new_world(store)
    for op, *args in steps:
        op(world, *args)
        assert_rollups_true(world)
    # the account has some cells whenever it has feedback
    with store.engine.connect() as conn:
        cells = rollups.stored(conn, account_pk=world.admin.account_pk)[rollups.HOURS.name]
    assert bool(cells) == bool(feedback_pks(world))


def test_a_bulk_insert_of_rows_in_any_state_is_counted_by_created(store: Store) -> None:
    """What an import does: insert rows (some already reviewed) and hand them to
    ``rollups.created`` in the same transaction."""
    world = new_world(store)
    start = utcnow() - timedelta(days=3)
    rows = []
    for i in range(40):
        created = start + timedelta(minutes=53 * i)
        decided = i % 3 == 0
        rows.append(
            {
                "id": f"aia_fdbk_import_{world.admin.account_pk}_{i}",
                "account_pk": world.admin.account_pk,
                "assistant_pk": world.assistant_pks[i % 2],
                "session_id": "imported",
                "score": None if i % 5 == 0 else 1.0,
                "text": "from elsewhere" if i % 2 else None,
                "reason": "slow" if i % 4 == 0 else None,
                "channel": "api",
                "feedback_type": None if i % 5 == 0 else "positive",
                "status": "reviewed" if decided else "pending",
                "reviewed_at": created + timedelta(hours=i) if decided else None,
                "date_created": created,
                "date_updated": created,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(insert(Feedback), rows)
        rollups.created(conn, rows)
    assert_rollups_true(world)


def test_writers_changing_the_same_cells_wait_for_each_other_instead_of_deadlocking(
    store: Store,
) -> None:
    """Every transaction locks the cells it changes in one order (by key). Writer 1 holds
    cell A; writer 2 changes cells B and A, given in that order; writer 1 then changes B.
    Writer 2 waits for A before it takes B, so writer 1 goes on and both commit (in the
    order the rows came, writer 2 would hold B while waiting for A: a deadlock on
    PostgreSQL, two servers' batches)."""
    world = new_world(store)
    now = utcnow()

    def row(kind: str) -> dict[str, Any]:
        return {
            "account_pk": world.admin.account_pk,
            "assistant_pk": world.assistant_pks[0],
            "date_created": now,
            "feedback_type": kind,
            "status": "pending",
            "channel": "api",
            "score": 1.0 if kind == "positive" else 0.0,
            "text": None,
        }

    cell_a, cell_b = row("negative"), row("positive")  # A's key sorts first
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with store.engine.begin() as conn:
                rollups.created(conn, [cell_b, cell_a])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with store.engine.begin() as first:
        rollups.created(first, [cell_a])
        thread = threading.Thread(target=second_writer)
        thread.start()
        wait_until_someone_waits_for_a_lock(store)
        rollups.created(first, [cell_b])
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert errors == []
    with store.engine.connect() as conn:
        cells = rollups.stored(conn, account_pk=world.admin.account_pk)
    for grain in cells.values():
        assert sorted(values[0] for values in grain.values()) == [2, 2]


def wait_until_someone_waits_for_a_lock(store: Store) -> None:
    """PostgreSQL: until another session waits for a lock. SQLite: a moment (the other
    writer waits for the process's write lock, which the first one holds)."""
    if store.sqlite:
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    with store.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar_one()
            conn.commit()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")
