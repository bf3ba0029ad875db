"""The console's account pages over HTTP: assistants with the API's rules and messages,
console users (invitations and resets by one-time link, roles, deactivation), API keys,
settings that go back to the account default, and what a signed-out script is told."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from tests.support.accounts import PASSWORD, Account, ConsoleUser, make_api_key, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.http import create_feedback
from tests.support.server import LiveServer
from thumbs.kit.timefmt import utcnow
from thumbs.store.models import Assistant, Feedback, FeedbackSetting, User, WebSession

_LINK = re.compile(r'value="(http://[^"]+/console/password/([^"]+))"')


def text_of(res: httpx.Response) -> str:
    return html.unescape(res.text)


def post(client: httpx.Client, path: str, **form: str) -> httpx.Response:
    """Post a console form with the page's token (read from ``/console/assistants``)."""
    token = csrf_of(client.get("/console/assistants").text)
    return client.post(path, data={"csrf_token": token, **form})


def stored_user(server: LiveServer, sid: str) -> User:
    with server.runtime.store.session() as s:
        user = s.scalars(select(User).where(User.sid == sid)).one()
        s.expunge(user)
        return user


def sessions_of(server: LiveServer, user_pk: int) -> int:
    with server.runtime.store.session() as s:
        return len(s.scalars(select(WebSession).where(WebSession.user_pk == user_pk)).all())


def link_in(res: httpx.Response) -> str:
    found = _LINK.search(res.text)
    assert found is not None, "no set-password link on the page"
    return found.group(2)


def use_link(
    server: LiveServer, token: str, password: str, repeat: str | None = None
) -> tuple[httpx.Response, httpx.Client]:
    client = httpx.Client(base_url=server.url, timeout=30)
    form = client.get(f"/console/password/{token}")
    assert form.status_code == 200, form.text
    res = client.post(
        f"/console/password/{token}",
        data={
            "password": password,
            "repeat": password if repeat is None else repeat,
            "csrf_token": csrf_of(form.text),
        },
    )
    return res, client


# -- assistants: the API's rules and messages -----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 300},
        {"name": "Bot", "responder": "openai"},
        {"name": "Bot", "responder": "openai", "responder_base_url": "http://h/v1"},
        {
            "name": "Bot",
            "responder": "openai",
            "responder_base_url": "ftp://h",
            "responder_model": "m",
        },
        {"name": "Bot", "responder_api_key_env": "NOT-A-NAME"},
    ],
)
def test_creating_an_assistant_is_refused_as_the_api_refuses_it(
    server: LiveServer, console: httpx.Client, api: httpx.Client, body: dict[str, str]
) -> None:
    by_api = api.post("/v1/Assistants", json=body)
    assert by_api.status_code == 400, by_api.text
    page = post(console, "/console/assistants", **body)
    assert page.status_code == 400
    assert by_api.json()["message"] in text_of(page)
    assert 'value="' + html.escape(body["name"]) + '"' in page.text  # what was typed is kept
    with server.runtime.store.session() as s:
        assert s.scalars(select(Assistant)).all() == []


def test_an_admin_creates_renames_and_sets_the_responder_of_an_assistant(
    server: LiveServer, console: httpx.Client, account: Account
) -> None:
    res = post(
        console,
        "/console/assistants",
        name=" Helper ",
        responder="openai",
        responder_base_url="http://127.0.0.1:11434/v1",
        responder_model="llama3.2",
        responder_api_key_env="",
    )
    assert res.status_code == 303
    with server.runtime.store.session() as s:
        [a] = s.scalars(select(Assistant).where(Assistant.account_pk == account.pk)).all()
        created = (a.id, a.name, a.responder, a.responder_model, a.responder_api_key_env)
    assert res.headers["location"] == f"/console/assistants?done=created#assistant-{created[0]}"
    assert created[1:] == ("Helper", "openai", "llama3.2", None)
    res = post(console, f"/console/assistants/{created[0]}", name="Billing", responder="embedded")
    assert res.status_code == 303
    with server.runtime.store.session() as s:
        a = s.scalars(select(Assistant).where(Assistant.id == created[0])).one()
        assert (a.name, a.responder, a.responder_base_url) == ("Billing", "embedded", None)
    # a refused rename changes nothing, the responder neither
    res = post(console, f"/console/assistants/{created[0]}", name=" ", responder="openai")
    assert res.status_code == 400
    with server.runtime.store.session() as s:
        a = s.scalars(select(Assistant).where(Assistant.id == created[0])).one()
        assert (a.name, a.responder) == ("Billing", "embedded")


def test_an_assistant_with_feedback_is_deleted_only_with_its_feedback_confirmed(
    server: LiveServer, console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    create_feedback(api, assistant_id, session_id="s1", score=0)
    refused = api.delete(f"/v1/Assistants/{assistant_id}")
    assert refused.status_code == 409
    page = post(console, f"/console/assistants/{assistant_id}/delete")
    assert page.status_code == 409
    shown = text_of(page)
    assert refused.json()["message"] in shown
    assert "Delete it with its feedback" in shown
    assert "its 1 feedback record," in shown
    assert api.get(f"/v1/Assistants/{assistant_id}").status_code == 200
    res = post(console, f"/console/assistants/{assistant_id}/delete", cascade="true")
    assert res.status_code == 303
    assert res.headers["location"] == "/console/assistants?done=deleted"
    assert api.get(f"/v1/Assistants/{assistant_id}").status_code == 404
    with server.runtime.store.session() as s:
        assert s.scalars(select(Feedback)).all() == []
    # and the feedback API forgets it at once (its cached lookup is cleared)
    gone = api.post(
        f"/v1/Assistants/{assistant_id}/Feedbacks", json={"session_id": "s", "score": 1}
    )
    assert gone.status_code == 404


def test_an_assistant_without_feedback_is_deleted_at_once(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    assert post(console, f"/console/assistants/{assistant_id}/delete").status_code == 303
    assert api.get(f"/v1/Assistants/{assistant_id}").status_code == 404


def test_members_read_assistants_and_change_none(
    server: LiveServer, account: Account, api: httpx.Client, assistant_id: str
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        page = client.get("/console/assistants").text
        assert "Support bot" in page
        assert 'action="/console/assistants"' not in page
        assert post(client, "/console/assistants", name="Mine").status_code == 403
        assert post(client, f"/console/assistants/{assistant_id}/delete").status_code == 403
    assert [a["name"] for a in api.get("/v1/Assistants").json()["assistants"]] == ["Support bot"]


# -- console users ------------------------------------------------------------------------


def test_an_invited_user_chooses_a_password_with_the_link_once(
    server: LiveServer, console: httpx.Client, account: Account
) -> None:
    page = post(console, "/console/users", email=" New.Person@Example.com ", role="member")
    assert page.status_code == 200
    token = link_in(page)
    with server.runtime.store.session() as s:
        user = s.scalars(select(User).where(User.email == "new.person@example.com")).one()
        assert (user.role, user.password_hash, user.account_pk) == ("member", None, account.pk)
        assert user.password_link_hash is not None
        assert token not in user.password_link_hash  # only its digest is stored
    invited = ConsoleUser("new.person@example.com", "a new password!", user.sid, user.pk)
    with httpx.Client(base_url=server.url, timeout=30) as other:
        assert sign_in(other, invited).status_code == 401  # no password yet

    res, client = use_link(server, token, "short")
    assert res.status_code == 400
    assert "password needs at least 8 characters" in text_of(res)
    res, client = use_link(server, token, "a new password!", "a different one")
    assert res.status_code == 400
    assert "The two passwords differ." in res.text
    res, client = use_link(server, token, "a new password!")
    assert res.status_code == 303
    assert res.headers["location"] == "/console/"
    assert client.get("/console/simulator").status_code == 200  # signed in by the link
    client.close()
    assert stored_user(server, user.sid).password_link_hash is None
    # spent: the link works no more, the password does
    again = httpx.get(f"{server.url}/console/password/{token}")
    assert again.status_code == 404
    assert "does not work any more" in text_of(again)
    with httpx.Client(base_url=server.url, timeout=30) as fresh:
        assert sign_in(fresh, invited).status_code == 303


def test_an_expired_link_does_not_work(server: LiveServer, console: httpx.Client) -> None:
    token = link_in(post(console, "/console/users", email="late@example.com", role="admin"))
    with server.runtime.store.session() as s:
        s.execute(
            update(User)
            .where(User.email == "late@example.com")
            .values(password_link_expires=utcnow() - timedelta(seconds=1))
        )
    assert httpx.get(f"{server.url}/console/password/{token}").status_code == 404


@pytest.mark.parametrize(
    ("email", "role", "status", "message"),
    [
        ("admin@example.com", "member", 409, "A user with email admin@example.com exists already"),
        ("not an email", "member", 400, "email is not an email address"),
        ("x@example.com", "owner", 400, "role must be admin or member"),
    ],
)
def test_refused_invitations_say_why(
    server: LiveServer, console: httpx.Client, email: str, role: str, status: int, message: str
) -> None:
    page = post(console, "/console/users", email=email, role=role)
    assert page.status_code == status
    assert message in text_of(page)
    assert "/console/password/" not in page.text


def test_a_reset_keeps_the_password_until_the_link_is_used_then_ends_every_session(
    server: LiveServer, console: httpx.Client, account: Account
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    old_browser = httpx.Client(base_url=server.url, timeout=30)
    assert sign_in(old_browser, member).status_code == 303
    token = link_in(post(console, f"/console/users/{member.sid}/reset"))
    with httpx.Client(base_url=server.url, timeout=30) as other:
        assert sign_in(other, member).status_code == 303  # the old password still works
    assert old_browser.get("/console/simulator").status_code == 200
    res, client = use_link(server, token, "the member's new password")
    assert res.status_code == 303
    assert old_browser.get("/console/simulator").status_code == 303  # signed out
    assert sessions_of(server, member.pk) == 1  # only the link's own session
    with httpx.Client(base_url=server.url, timeout=30) as other:
        assert sign_in(other, member).status_code == 401  # the old password is gone
    old_browser.close()
    client.close()


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated(
    server: LiveServer, console: httpx.Client, account: Account
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    browser = httpx.Client(base_url=server.url, timeout=30)
    assert sign_in(browser, member).status_code == 303
    res = post(console, f"/console/users/{member.sid}/deactivate")
    assert res.status_code == 303
    assert res.headers["location"] == f"/console/users?done=deactivated#user-{member.sid}"
    assert sessions_of(server, member.pk) == 0
    assert browser.get("/console/simulator").status_code == 303
    refused = sign_in(browser, member)
    assert refused.status_code == 401
    assert "Email or password is wrong." in refused.text  # the same answer as a wrong password
    assert "deactivated" in text_of(console.get("/console/users"))
    assert post(console, f"/console/users/{member.sid}/reset").status_code == 409
    assert post(console, f"/console/users/{member.sid}/reactivate").status_code == 303
    assert sign_in(browser, member).status_code == 303
    browser.close()


def test_an_account_keeps_an_admin_and_no_one_deactivates_themselves(
    server: LiveServer, console: httpx.Client, admin: ConsoleUser, account: Account
) -> None:
    page = post(console, f"/console/users/{admin.sid}/role", role="member")
    assert page.status_code == 409
    assert "admin@example.com is the last admin who can sign in" in text_of(page)
    page = post(console, f"/console/users/{admin.sid}/deactivate")
    assert page.status_code == 409
    assert "You cannot deactivate yourself" in text_of(page)
    assert stored_user(server, admin.sid).role == "admin"
    # with another admin, an admin may step down (and lands where members may be)
    other = make_console_user(server, account, "second@example.com", "admin")
    res = post(console, f"/console/users/{other.sid}/role", role="member")
    assert res.status_code == 303
    assert stored_user(server, other.sid).role == "member"
    assert post(console, f"/console/users/{other.sid}/role", role="admin").status_code == 303
    res = post(console, f"/console/users/{admin.sid}/role", role="member")
    assert res.status_code == 303
    assert res.headers["location"] == "/console/"
    assert console.get("/console/users").status_code == 403  # the role applies at once


def test_members_see_no_admin_pages(
    server: LiveServer, account: Account, admin: ConsoleUser, other_account: Account
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, member).status_code == 303
        nav = client.get("/console/simulator").text
        assert 'href="/console/users"' not in nav
        assert 'href="/console/keys"' not in nav
        for path in ("/console/users", "/console/keys"):
            res = client.get(path)
            assert res.status_code == 403
            assert "Only an admin can see this page." in res.text
            assert member.email in res.text  # the error page keeps who is signed in
        assert post(client, "/console/users", email="x@example.com").status_code == 403
        assert post(client, f"/console/users/{admin.sid}/deactivate").status_code == 403
    assert stored_user(server, admin.sid).deactivated_at is None
    # another account's users are not found
    outsider = make_console_user(server, other_account, "outsider@example.com", "admin")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert sign_in(client, outsider).status_code == 303
        assert post(client, f"/console/users/{admin.sid}/deactivate").status_code == 404
        assert admin.email not in client.get("/console/users").text


# -- API keys ---------------------------------------------------------------------------------


def test_an_admin_revokes_an_api_key_and_it_authenticates_nothing(
    server: LiveServer, console: httpx.Client, account: Account, other_account: Account
) -> None:
    key = make_api_key(server, account)
    theirs = make_api_key(server, other_account)
    with server.client(auth=(key.sid, key.secret)) as app:
        assert app.get("/v1/Assistants").status_code == 200  # cached by the server now
        page = console.get("/console/keys").text
        assert key.sid in page
        assert theirs.sid not in page
        assert post(console, f"/console/keys/{theirs.sid}/revoke").status_code == 404
        res = post(console, f"/console/keys/{key.sid}/revoke")
        assert res.status_code == 303
        assert res.headers["location"] == "/console/keys?done=revoked"
        assert app.get("/v1/Assistants").status_code == 401
    assert key.sid not in console.get("/console/keys").text
    with server.client(auth=(theirs.sid, theirs.secret)) as them:
        assert them.get("/v1/Assistants").status_code == 200


# -- settings: back to the account default -----------------------------------------------------


def test_an_assistant_goes_back_to_the_account_default(
    server: LiveServer, console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    form = {
        "account.negative.from": "own",
        "account.negative.require_reason": "on",
        "account.positive.from": "own",
        f"{assistant_id}.positive.from": "own",
        f"{assistant_id}.positive.auto_approve": "on",
        f"{assistant_id}.negative.from": "account",
    }
    assert post(console, "/console/settings/lifecycle", **form).status_code == 303
    out = api.get("/v1/Settings/Feedback", params={"AssistantId": assistant_id}).json()
    assert [
        (s["feedback_type"], s["auto_approve"], s["require_reason"], s["source"])
        for s in out["settings"]
    ] == [
        ("positive", True, False, "assistant"),
        ("negative", False, True, "account"),
    ]
    # saved again unchanged, an inherited type stays inherited (nothing is pinned)
    page = console.get("/console/settings").text
    assert "inherited: as set for the account" in page
    assert post(console, "/console/settings/lifecycle", **form).status_code == 303
    with server.runtime.store.session() as s:
        own = s.scalars(select(FeedbackSetting).where(FeedbackSetting.scope == assistant_id)).all()
        assert [r.feedback_type for r in own] == ["positive"]
    # and the positive type goes back to the default too
    form[f"{assistant_id}.positive.from"] = "account"
    assert post(console, "/console/settings/lifecycle", **form).status_code == 303
    out = api.get("/v1/Settings/Feedback", params={"AssistantId": assistant_id}).json()
    assert {s["source"] for s in out["settings"]} == {"account"}
    # the account default itself cannot follow itself
    bad = post(console, "/console/settings/lifecycle", **{"account.positive.from": "account"})
    assert bad.status_code == 400


# -- signed out -----------------------------------------------------------------------------------


def test_a_script_whose_session_ended_gets_the_sign_in_link(
    server: LiveServer, console: httpx.Client, assistant_id: str
) -> None:
    token = csrf_of(console.get("/console/simulator").text)
    with server.runtime.store.session() as s:
        s.execute(WebSession.__table__.delete())
    res = console.post(
        f"/console/api/assistants/{assistant_id}/messages",
        json={"body": "hello"},
        headers={"X-CSRF-Token": token, "Referer": f"{server.url}/console/simulator"},
    )
    assert res.status_code == 401
    body = res.json()
    assert body["message"] == "Sign in to the console first"
    assert body["details"]["sign_in_url"] == "/console/login?next=%2Fconsole%2Fsimulator"


def test_a_form_posted_after_the_session_ended_comes_back_to_its_page(
    server: LiveServer, console: httpx.Client
) -> None:
    token = csrf_of(console.get("/console/settings").text)
    with server.runtime.store.session() as s:
        s.execute(WebSession.__table__.delete())
    res = console.post(
        "/console/settings/lifecycle",
        data={"csrf_token": token, "account.positive.from": "own"},
        headers={"Referer": f"{server.url}/console/settings?saved=lifecycle"},
    )
    assert res.status_code == 303
    assert (
        res.headers["location"] == "/console/login?next=%2Fconsole%2Fsettings%3Fsaved%3Dlifecycle"
    )


def test_the_favicon_is_served_from_static(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        icon = client.get("/console/static/favicon.svg")
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert icon.text.startswith("<svg")
        res = client.get("/favicon.ico")
        assert res.status_code == 308
        assert res.headers["location"] == "/console/static/favicon.svg"
        assert 'rel="icon" href="/console/static/favicon.svg"' in client.get("/console/login").text


def test_a_users_password_is_never_shown(server: LiveServer, console: httpx.Client) -> None:
    page = console.get("/console/users").text
    assert PASSWORD not in page
    assert "argon2" not in page


def test_a_page_reads_the_form_token_of_the_current_session(
    server: LiveServer, console: httpx.Client, admin: ConsoleUser
) -> None:
    token = csrf_of(console.get("/console/settings").text)
    res = console.get("/console/api/session")
    assert res.status_code == 200
    assert res.json() == {"email": admin.email, "role": "admin", "csrf_token": token}
    with httpx.Client(base_url=server.url, timeout=30) as stranger:
        res = stranger.get("/console/api/session")
        assert res.status_code == 401
        assert res.json()["details"]["sign_in_url"].startswith("/console/login?next=")
