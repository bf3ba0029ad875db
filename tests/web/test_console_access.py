"""The console's access matrix: every route of the console, taken from the console itself,
called signed out, with a forged session cookie, by an admin of another account, by a
member and by an admin, answers what docs/console.md documents: signed out, a redirect to
the sign-in page (401 for the Simulator's JSON endpoints); a member posting an admin's form,
403; another account's session, feedback, example or assistant, 404, and its lists never
show account A's ids; and no refused request changes the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.access import (
    World,
    build_world,
    documented_access,
    served_routes,
    store_digest,
    the_app,
)
from tests.support.accounts import PASSWORD, make_account, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.server import LiveServer
from thumbs.web.deps import LOGIN_CSRF_COOKIE

DOCUMENTED = documented_access("console.md", ["public", "signed in", "admin"])
CALLERS = ["signed out", "forged session", "other account", "member", "admin"]
SIGNED_IN = {"other account", "member", "admin"}


def test_every_console_route_is_in_the_documented_access_table() -> None:
    [console] = [r for r in the_app().routes if getattr(r, "path", "") == "/console"]
    assert served_routes(console.app.routes, "/console") == set(DOCUMENTED)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Call:
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    ok: int = 200


def call_for(method: str, path: str, w: World) -> tuple[str, Call]:
    url = path.format(
        path="console.css",
        session_id=w.session,
        assistant_id=w.assistant,
        message_id=w.message,
        feedback_id=w.thumb,
        golden_id=w.golden,
        user_sid=w.member_sid,
        key_sid=w.key_sid,
        token="not-a-link-token",
    )
    calls = {
        ("POST", "/console/login"): Call(
            form={"email": "member@a.example", "password": PASSWORD}, ok=303
        ),
        # a pick of account without a ticket the server signed is refused, for anyone
        ("POST", "/console/login/account"): Call(
            form={"ticket": "forged", "account": w.a.sid}, ok=401
        ),
        ("POST", "/console/logout"): Call(form={}, ok=303),
        ("GET", "/console/"): Call(ok=303),
        ("POST", "/console/api/assistants/{assistant_id}/messages"): Call(json={"body": "Hi"}),
        ("POST", "/console/api/messages/{message_id}/thumbs"): Call(
            json={"feedback_type": "positive"}, ok=201
        ),
        ("POST", "/console/api/assistants/{assistant_id}/session-feedback"): Call(
            json={"session_id": w.session, "score": 1.0}, ok=201
        ),
        ("POST", "/console/review/{feedback_id}/approve"): Call(form={}, ok=303),
        ("POST", "/console/review/{feedback_id}/dismiss"): Call(form={}, ok=303),
        ("POST", "/console/golden/{golden_id}/edit"): Call(form={"output": "Use SSO."}, ok=303),
        ("POST", "/console/golden/{golden_id}/withdraw"): Call(form={}, ok=303),
        ("POST", "/console/golden/{golden_id}/reinstate"): Call(form={}, ok=303),
        ("POST", "/console/settings/lifecycle"): Call(
            form={
                f"{w.assistant}.positive.from": "own",
                f"{w.assistant}.positive.auto_approve": "on",
            },
            ok=303,
        ),
        # a set-password link that was never made: the same answer, signed in or not
        ("GET", "/console/password/{token}"): Call(ok=404),
        ("POST", "/console/password/{token}"): Call(
            form={"password": "a long password", "repeat": "a long password"}, ok=404
        ),
        ("POST", "/console/assistants"): Call(form={"name": "Another bot"}, ok=303),
        ("POST", "/console/assistants/{assistant_id}"): Call(
            form={"name": "Renamed bot", "responder": "embedded"}, ok=303
        ),
        ("POST", "/console/assistants/{assistant_id}/delete"): Call(
            form={"cascade": "true"}, ok=303
        ),
        ("POST", "/console/users"): Call(form={"email": "new@a.example", "role": "member"}),
        ("POST", "/console/users/{user_sid}/role"): Call(form={"role": "admin"}, ok=303),
        ("POST", "/console/users/{user_sid}/deactivate"): Call(form={}, ok=303),
        ("POST", "/console/users/{user_sid}/reactivate"): Call(form={}, ok=303),
        # the world's member is named by an identity, with no email to sign in with
        ("POST", "/console/users/{user_sid}/reset"): Call(form={}, ok=409),
        ("POST", "/console/keys/{key_sid}/revoke"): Call(form={}, ok=303),
    }
    return url, calls.get((method, path), Call())


def expected(caller: str, method: str, path: str, call: Call) -> int:
    role = DOCUMENTED[(method, path)]
    if (method, path) == ("GET", "/console/login"):
        return 303 if caller in SIGNED_IN else 200  # a signed-in user is sent on
    if role == "public":
        return call.ok
    if caller not in SIGNED_IN:
        return 401 if path.startswith("/console/api/") else 303
    if caller == "other account":
        names_a = "{" in path or (method, path) == ("POST", "/console/settings/lifecycle")
        return 404 if names_a else call.ok
    if caller == "member" and role == "admin":
        return 403
    return call.ok


@pytest.fixture
def world(server: LiveServer) -> World:
    return build_world(server, make_account(server, "A"), make_account(server, "B"))


@pytest.fixture
def clients(server: LiveServer, world: World) -> Iterator[dict[str, httpx.Client]]:
    users = {
        "other account": make_console_user(server, world.b, "admin@b.example", "admin"),
        "member": make_console_user(server, world.a, "member@a.example", "member"),
        "admin": make_console_user(server, world.a, "admin@a.example", "admin"),
    }
    made: dict[str, httpx.Client] = {}
    try:
        for caller in CALLERS:
            client = made[caller] = httpx.Client(base_url=server.url, timeout=30)
            if caller in users:
                assert sign_in(client, users[caller]).status_code == 303
            elif caller == "forged session":
                client.cookies.set("thumbs_session", "forged-" + "0" * 40)
        yield made
    finally:
        for client in made.values():
            client.close()


def send(client: httpx.Client, caller: str, method: str, url: str, call: Call) -> httpx.Response:
    token = ""
    if caller in SIGNED_IN:
        token = csrf_of(client.get("/console/simulator").text)
    if url.startswith(("/console/login", "/console/password/")) and method == "POST":
        token = "login-form-token"  # the sign-in form's own: a cookie and the same field
        client.cookies.set(LOGIN_CSRF_COOKIE, token)
    if call.json is not None:
        return client.request(method, url, json=call.json, headers={"X-CSRF-Token": token})
    if call.form is not None:
        return client.request(method, url, data={**call.form, "csrf_token": token})
    return client.request(method, url)


@pytest.mark.parametrize(("method", "path"), sorted(DOCUMENTED))
def test_every_console_caller_gets_the_documented_answer_and_nothing_leaks(
    server: LiveServer, world: World, clients: dict[str, httpx.Client], method: str, path: str
) -> None:
    url, call = call_for(method, path, world)
    for caller in CALLERS:
        want = expected(caller, method, path, call)
        refused = want in (401, 403, 404) or (
            caller not in SIGNED_IN and DOCUMENTED[(method, path)] != "public"
        )
        before = store_digest(server) if refused else None
        res = send(clients[caller], caller, method, url, call)
        where = f"{caller}: {method} {url} -> {res.status_code} {res.text[:300]}"
        assert res.status_code == want, where
        if refused:
            assert store_digest(server) == before, f"a refused request changed the store: {where}"
        if want == 303 and caller not in SIGNED_IN and DOCUMENTED[(method, path)] != "public":
            assert res.headers["location"].startswith("/console/login?next="), where
        if want == 401 and path.startswith("/console/api/"):
            assert res.json()["code"] == 20003, where
        if caller != "member" and caller != "admin":
            leaked = {i for i in world.a_ids() if i in res.text and i not in f"{url} {call}"}
            assert not leaked, f"{where}: leaked {leaked}"
