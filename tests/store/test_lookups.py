"""The per-batch lookups of the create path (:mod:`thumbs.store.sql`): the logged messages a
batch rates, each found by its id on the unique index, on PostgreSQL whatever the size of
the table when the prepared statement was planned; and ``insert_ignore``'s contract."""

from __future__ import annotations

from typing import Any, cast

import httpx
from sqlalchemy import Table, select

from tests.support.lifecycle import log_turn
from tests.support.plans import generic_plan
from tests.support.server import LiveServer
from thumbs.kit.timefmt import utcnow
from thumbs.store.models import Assistant, ConversationSession, Message
from thumbs.store.sql import insert_ignore, keys_sql_postgresql, messages_by_id


def test_messages_are_found_by_their_ids_on_the_index(
    server: LiveServer, api: httpx.Client, assistant_id: str
) -> None:
    replies = [log_turn(api, assistant_id, session_id=f"s{n}") for n in range(3)]
    engine = server.runtime.store.engine
    with engine.begin() as conn:
        found = messages_by_id(conn, [replies[0], replies[2], "aia_msg_nobody"])
        assert sorted(mid for _, mid, _ in found) == sorted([replies[0], replies[2]])
        assert len({pk for pk, _, _ in found}) == 2
        assert messages_by_id(conn, []) == []
        if conn.dialect.name == "postgresql":
            # a table of some hundreds of messages, analyzed: a plan of `id = ANY(…)` read
            # a small table whole, comparing each row with each id
            conn.exec_driver_sql(
                "INSERT INTO messages (id, account_pk, assistant_pk, session_pk, identity, "
                "role, content, meta, date_created, date_updated) "
                "SELECT id || '-copy-' || n, account_pk, assistant_pk, session_pk, identity, "
                "role, content, meta, date_created, date_updated "
                "FROM messages, generate_series(1, 300) AS n WHERE id = %(id)s",
                {"id": replies[0]},
            )
            conn.exec_driver_sql("ANALYZE messages")
            sql = keys_sql_postgresql(conn, cast(Table, Message.__table__), ("pk",), ("id",))
            plan = generic_plan(conn, sql, "'{x}'")
            assert "Index Scan using uq_messages_id" in plan, plan
            assert "Seq Scan on messages" not in plan, plan


def test_insert_ignore_writes_the_sessions_pending_rows_first_and_skips_a_key_taken(
    server: LiveServer, assistant_id: str
) -> None:
    now = utcnow()

    def conversation(session_id: str, account_pk: int, assistant_pk: int) -> dict[str, Any]:
        return {
            "id": session_id,
            "account_pk": account_pk,
            "assistant_pk": assistant_pk,
            "identity": None,
            "verified": False,
            "date_created": now,
            "date_updated": now,
        }

    with server.runtime.store.sessions() as db:
        assistant = db.scalars(select(Assistant).where(Assistant.id == assistant_id)).one()
        keys = (assistant.account_pk, assistant.pk)
        db.add(ConversationSession(**conversation("s-pending", *keys)))
        # the pending row is written before the statement, which then finds its key taken
        taken = insert_ignore(
            db,
            ConversationSession,
            conversation("s-pending", *keys),
            index_elements=["account_pk", "id"],
        )
        new = insert_ignore(
            db,
            ConversationSession,
            conversation("s-new", *keys),
            index_elements=["account_pk", "id"],
        )
        assert (taken.rowcount, new.rowcount) == (0, 1)
        ids = db.scalars(
            select(ConversationSession.id).where(ConversationSession.assistant_pk == assistant.pk)
        ).all()
        assert sorted(ids) == ["s-new", "s-pending"]
        db.rollback()
