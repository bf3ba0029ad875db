"""Migration 0003 on SQLite: golden examples written before it are searchable after it, the
search index follows later writes, and downgrading removes what it added."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, inspect, select, text

from tests.store.seed import account_and_assistant
from thumbs.kit import ids
from thumbs.responders.search import search_golden
from thumbs.store import migrate
from thumbs.store.engine import Store
from thumbs.store.models import GoldenExample


def test_existing_golden_examples_are_indexed_and_downgrade_cleans_up(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'm.db').as_posix()}"
    migrate.upgrade(url, "0001")
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            account_pk, assistant_pk = account_and_assistant(conn)
            conn.execute(
                insert(GoldenExample).values(
                    id=ids.new_id(ids.GOLDEN),
                    account_pk=account_pk,
                    assistant_pk=assistant_pk,
                    input=[{"role": "user", "content": "how to reset my password"}],
                    prompt="how to reset my password",
                    output="Use the reset link.",
                    source="original",
                    status="active",
                )
            )
        migrate.upgrade(url)
        with store.session() as s:
            found = search_golden(
                s, account_pk=account_pk, assistant_pk=assistant_pk, query="reset", limit=5
            )
            assert [g.output for g in found] == ["Use the reset link."]
        migrate.downgrade(url, "0001")
        names = set(inspect(store.engine).get_table_names())
        assert "web_sessions" not in names
        assert not any(n.startswith("golden_examples_fts") for n in names)
        with store.engine.connect() as conn:
            triggers = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            assert triggers == []
            assert conn.execute(select(GoldenExample.output)).scalars().all() == [
                "Use the reset link."
            ]
    finally:
        store.dispose()
