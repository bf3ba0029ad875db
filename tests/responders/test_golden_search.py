"""Full-text search over golden examples (SQLite FTS5 / PostgreSQL text search) and the
embedded responder that answers with the best match. Rows go straight into the store."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from tests.support.accounts import Account
from tests.support.http import run
from tests.support.server import LiveServer
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.responders import AssistantConfig, ResponderError, answer, examples_for, prepare
from thumbs.responders.embedded import NO_ANSWER, EmbeddedResponder
from thumbs.responders.search import query_terms, search_golden
from thumbs.store.models import Assistant, GoldenExample


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_assistant(server: LiveServer, account: Account, name: str = "bot") -> int:
    with server.runtime.store.session() as s:
        a = Assistant(
            id=ids.new_id(ids.ASSISTANT), account_pk=account.pk, name=name, responder="embedded"
        )
        s.add(a)
        s.flush()
        return a.pk


def golden(
    server: LiveServer,
    account: Account,
    assistant_pk: int,
    prompt: str,
    output: str,
    *,
    earlier: str | None = None,
    status: str = "active",
) -> str:
    turns: list[dict[str, Any]] = []
    if earlier:
        turns += [
            {"role": "user", "content": earlier},
            {"role": "assistant", "content": "ok"},
        ]
    turns.append({"role": "user", "content": prompt})
    with server.runtime.store.session() as s:
        row = GoldenExample(
            id=ids.new_id(ids.GOLDEN),
            account_pk=account.pk,
            assistant_pk=assistant_pk,
            input=turns,
            prompt=prompt,
            output=output,
            source="corrected",
            status=status,
        )
        s.add(row)
        s.flush()
        return row.id


def search(server: LiveServer, account: Account, assistant_pk: int, q: str) -> list[str]:
    with server.runtime.store.session() as s:
        rows = search_golden(s, account_pk=account.pk, assistant_pk=assistant_pk, query=q, limit=10)
        return [r.output for r in rows]


@pytest.fixture
def bot(server: LiveServer, account: Account) -> int:
    return make_assistant(server, account)


def test_the_best_match_comes_first(server: LiveServer, account: Account, bot: int) -> None:
    golden(server, account, bot, "How do I reset my password?", "Use the reset link.")
    golden(server, account, bot, "What are your opening hours?", "9 to 5.")
    golden(server, account, bot, "Can I change my email address?", "Yes, in Settings.")
    golden(server, account, bot, "Where do I find the password policy?", "In the handbook.")
    found = search(server, account, bot, "how do I reset my password")
    assert found[0] == "Use the reset link."
    assert set(found) == {"Use the reset link.", "In the handbook."}


def test_words_are_stemmed(server: LiveServer, account: Account, bot: int) -> None:
    golden(server, account, bot, "Resetting passwords", "Use the reset link.")
    assert search(server, account, bot, "reset password") == ["Use the reset link."]


def test_earlier_turns_are_searched_too(server: LiveServer, account: Account, bot: int) -> None:
    golden(server, account, bot, "and then?", "Then restart.", earlier="my router blinks red")
    assert search(server, account, bot, "router blinking") == ["Then restart."]


def test_a_tie_goes_to_the_newest_example(server: LiveServer, account: Account, bot: int) -> None:
    golden(server, account, bot, "What is the refund policy?", "old answer")
    golden(server, account, bot, "What is the refund policy?", "corrected answer")
    assert search(server, account, bot, "What is the refund policy?")[0] == "corrected answer"


def test_nothing_matches_a_question_without_shared_words(
    server: LiveServer, account: Account, bot: int
) -> None:
    golden(server, account, bot, "How do I reset my password?", "Use the reset link.")
    assert search(server, account, bot, "opening hours on sunday") == []
    # only stop words: nothing to search for
    assert search(server, account, bot, "how do I do it?") == []
    assert search(server, account, bot, "") == []


def test_only_active_examples_of_this_assistant_of_this_account_are_found(
    server: LiveServer, account: Account, other_account: Account, bot: int
) -> None:
    other_bot = make_assistant(server, account, "other bot")
    foreign_bot = make_assistant(server, other_account, "foreign bot")
    golden(server, account, bot, "reset password", "mine")
    golden(server, account, bot, "reset password", "withdrawn", status="withdrawn")
    golden(server, account, other_bot, "reset password", "other assistant")
    golden(server, other_account, foreign_bot, "reset password", "other account")
    assert search(server, account, bot, "reset password") == ["mine"]
    # the other account's assistant, searched with this account's scope, finds nothing
    assert search(server, account, foreign_bot, "reset password") == []


def test_the_index_follows_edits_and_deletes(
    server: LiveServer, account: Account, bot: int
) -> None:
    gid = golden(server, account, bot, "reset password", "the answer")
    with server.runtime.store.session() as s:
        s.execute(
            update(GoldenExample)
            .where(GoldenExample.id == gid)
            .values(prompt="cancel subscription", input=[{"role": "user", "content": "cancel"}])
        )
    assert search(server, account, bot, "reset password") == []
    assert search(server, account, bot, "cancel my subscription") == ["the answer"]
    with server.runtime.store.session() as s:
        s.execute(delete(GoldenExample).where(GoldenExample.id == gid))
        assert s.scalars(select(GoldenExample)).all() == []
    assert search(server, account, bot, "cancel my subscription") == []


@pytest.mark.parametrize(
    "question",
    [
        '"reset',
        "reset*",
        "NEAR(reset password)",
        "reset -password",
        "reset OR AND NOT",
        "password's reset:",
    ],
)
def test_search_syntax_in_a_question_is_only_words(
    server: LiveServer, account: Account, bot: int, question: str
) -> None:
    golden(server, account, bot, "reset password", "the answer")
    assert search(server, account, bot, question) == ["the answer"]


def test_query_terms_drop_stop_words_and_repeats() -> None:
    assert query_terms("How do I reset MY password, reset it?") == ["reset", "password"]


def test_the_embedded_responder_answers_with_the_best_match(
    server: LiveServer, account: Account, bot: int
) -> None:
    golden(server, account, bot, "How do I reset my password?", "Use the reset link.")
    golden(server, account, bot, "What are your opening hours?", "9 to 5.")
    cfg = AssistantConfig(
        id="aia_asst_x",
        name="bot",
        personality_prompt="",
        responder="embedded",
        base_url=None,
        model=None,
        api_key_env=None,
    )

    def ask(question: str) -> str:
        with server.runtime.store.session() as s:
            examples = examples_for(
                s, account_pk=account.pk, assistant_pk=bot, question=question, limit=1
            )
        return run(
            EmbeddedResponder().reply(
                assistant=cfg, history=[], question=question, examples=examples
            )
        )

    assert ask("when are you open? opening hours?") == "9 to 5."
    assert ask("I forgot my password") == "Use the reset link."
    assert ask("Do you ship to Mars?") == NO_ANSWER
    assert "no answer" in NO_ANSWER


def test_prepare_then_answer_uses_the_assistants_responder(
    server: LiveServer, account: Account, bot: int
) -> None:
    golden(server, account, bot, "How do I reset my password?", "Use the reset link.")
    settings = server.runtime.settings
    with server.runtime.store.session() as s:
        assistant = s.get_one(Assistant, bot)
        prepared = prepare(s, assistant=assistant, question="reset password", settings=settings)
    assert [e.output for e in prepared.examples] == ["Use the reset link."]
    reply = run(answer(prepared, history=[], question="reset password", settings=settings))
    assert reply == "Use the reset link."
    # switched to an OpenAI-compatible endpoint that refuses connections: a typed error
    with server.runtime.store.session() as s:
        assistant = s.get_one(Assistant, bot)
        assistant.responder = "openai"
        assistant.responder_base_url = f"http://127.0.0.1:{closed_port()}/v1"
        assistant.responder_model = "m"
        prepared = prepare(s, assistant=assistant, question="reset password", settings=settings)
    assert prepared.config.responder == "openai"
    with pytest.raises(ResponderError) as caught:
        run(answer(prepared, history=[], question="reset password", settings=settings))
    assert caught.value.code == E.RESPONDER_UNREACHABLE


def test_the_embedded_responder_needs_real_similarity_not_one_shared_word(
    server: LiveServer, account: Account, bot: int
) -> None:
    golden(server, account, bot, "How do I export my data?", "Export your data from Settings.")
    settings = server.runtime.settings

    def reply(question: str) -> str:
        with server.runtime.store.session() as s:
            assistant = s.get_one(Assistant, bot)
            prepared = prepare(s, assistant=assistant, question=question, settings=settings)
        return run(answer(prepared, history=[], question=question, settings=settings))

    # one word of three in common: not the same question
    assert search(server, account, bot, "Can I export invoices to PDF?") == [
        "Export your data from Settings."
    ]
    assert reply("Can I export invoices to PDF?") == NO_ANSWER
    # the same question in other words, stemmed: answered
    assert reply("exporting my data") == "Export your data from Settings."

    # the threshold is over the question's words: at least half of them
    def coverage_search(query: str) -> list[str]:
        with server.runtime.store.session() as s:
            rows = search_golden(
                s, account_pk=account.pk, assistant_pk=bot, query=query, limit=1, min_coverage=0.5
            )
            return [g.output for g in rows]

    assert coverage_search("export pdf") == ["Export your data from Settings."]
    assert coverage_search("export invoices pdf") == []
