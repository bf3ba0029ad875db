"""One rule for an assistant's responder, whichever door sets it: the API (``PUT
/v1/Assistants/{id}``) and the console's assistant form refuse the same settings with the same
message, and accept the same ones."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.support.console import csrf_of
from tests.support.http import assert_error
from tests.support.server import LiveServer
from thumbs.kit import errors as E
from thumbs.store.models import Assistant

NEEDS_URL = "An OpenAI-compatible responder needs a base URL (responder_base_url)"
NEEDS_MODEL = "An OpenAI-compatible responder needs a model (responder_model)"


def stored(server: LiveServer, assistant_id: str) -> tuple[str, str | None, str | None]:
    with server.runtime.store.session() as s:
        a = s.scalars(select(Assistant).where(Assistant.id == assistant_id)).one()
        return a.responder, a.responder_base_url, a.responder_model


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"responder_base_url": "http://127.0.0.1:1/v1"}, "responder_model", NEEDS_MODEL),
        ({"responder_model": "llama3.2"}, "responder_base_url", NEEDS_URL),
        ({}, "responder_base_url", NEEDS_URL),
    ],
)
def test_both_doors_refuse_an_incomplete_openai_responder_alike(
    server: LiveServer,
    api: httpx.Client,
    console: httpx.Client,
    assistant_id: str,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    settings = {"responder": "openai", **fields}
    res = api.put(f"/v1/Assistants/{assistant_id}", json=settings)
    assert_error(res, 400, E.MISSING_FIELD, field=field)
    assert res.json()["message"] == message

    token = csrf_of(console.get("/console/assistants").text)
    page = console.post(
        f"/console/assistants/{assistant_id}",
        data={"csrf_token": token, "name": "Support bot", **settings},
    )
    assert page.status_code == 400
    assert message in page.text
    assert stored(server, assistant_id) == ("embedded", None, None)


def test_both_doors_accept_a_complete_openai_responder(
    server: LiveServer, api: httpx.Client, console: httpx.Client, assistant_id: str
) -> None:
    settings = {
        "responder": "openai",
        "responder_base_url": "http://127.0.0.1:11434/v1",
        "responder_model": "llama3.2",
    }
    res = api.put(f"/v1/Assistants/{assistant_id}", json=settings)
    assert res.status_code == 200, res.text
    assert res.json()["responder"]["model"] == "llama3.2"
    expected = ("openai", "http://127.0.0.1:11434/v1", "llama3.2")
    assert stored(server, assistant_id) == expected
    # the API keeps what it is not given; a model change alone still meets the rule
    res = api.put(f"/v1/Assistants/{assistant_id}", json={"responder_model": "qwen"})
    assert res.status_code == 200, res.text
    assert stored(server, assistant_id) == ("openai", "http://127.0.0.1:11434/v1", "qwen")

    token = csrf_of(console.get("/console/assistants").text)
    page = console.post(
        f"/console/assistants/{assistant_id}",
        data={"csrf_token": token, "name": "Support bot", **settings},
    )
    assert page.status_code == 303
    assert stored(server, assistant_id) == expected
