"""The console over plain HTTP: sign-in, sessions, CSRF, tenant scope, explorer, settings."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import httpx
from sqlalchemy import select, update

from tests.support.accounts import PASSWORD, Account, ConsoleUser, make_console_user
from tests.support.console import csrf_of, sign_in
from tests.support.server import LiveServer
from thumbs.auth.console import token_digest
from thumbs.kit import errors as E
from thumbs.kit.timefmt import utcnow
from thumbs.store.models import Assistant, WebSession


def stored_sessions(server: LiveServer) -> list[WebSession]:
    with server.runtime.store.session() as s:
        return list(s.scalars(select(WebSession)).all())


def new_client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


# -- sign-in, sessions, CSRF ---------------------------------------------------------------


def test_signing_in_sets_a_secure_cookie_and_stores_only_its_digest(
    server: LiveServer, admin: ConsoleUser
) -> None:
    with new_client(server) as client:
        res = sign_in(client, admin)
        assert res.status_code == 303
        assert res.headers["location"] == "/console/"
        cookie = next(
            h for h in res.headers.get_list("set-cookie") if h.startswith("thumbs_session=")
        )
        token = cookie.split(";")[0].split("=", 1)[1]
        attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/console"} <= attrs
        assert "secure" not in attrs  # served over plain http here
        [row] = stored_sessions(server)
        assert row.user_pk == admin.pk
        assert row.token_hash == token_digest(token)
        assert token not in row.token_hash
        page = client.get("/console/feedback")
        assert page.status_code == 200
        assert admin.email in page.text


def test_the_cookie_is_secure_when_served_over_https(
    server: LiveServer, admin: ConsoleUser
) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback (a TLS-terminating proxy)
    with new_client(server) as client:
        client.headers["X-Forwarded-Proto"] = "https"
        form = client.get("/console/login")
        login_cookie = form.headers["set-cookie"]
        assert "secure" in {a.strip().lower() for a in login_cookie.split(";")[1:]}
        token = csrf_of(form.text)
        # the client keeps Secure cookies for https: send it by hand over this plain socket
        res = client.post(
            "/console/login",
            data={"email": admin.email, "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"thumbs_login_csrf={token}"},
        )
        assert res.status_code == 303
        cookie = next(
            h for h in res.headers.get_list("set-cookie") if h.startswith("thumbs_session=")
        )
        assert "secure" in {a.strip().lower() for a in cookie.split(";")[1:]}


def test_a_wrong_password_and_an_unknown_email_get_the_same_refusal(
    server: LiveServer, admin: ConsoleUser
) -> None:
    with new_client(server) as client:
        for email, password in [(admin.email, "wrong password"), ("nobody@example.com", PASSWORD)]:
            token = csrf_of(client.get("/console/login").text)
            res = client.post(
                "/console/login",
                data={"email": email, "password": password, "csrf_token": token},
            )
            assert res.status_code == 401
            assert "Email or password is wrong." in res.text
            assert "thumbs_session" not in res.cookies
    assert stored_sessions(server) == []


def test_sign_in_is_case_insensitive_in_the_email(server: LiveServer, admin: ConsoleUser) -> None:
    with new_client(server) as client:
        token = csrf_of(client.get("/console/login").text)
        res = client.post(
            "/console/login",
            data={"email": " ADMIN@Example.com ", "password": PASSWORD, "csrf_token": token},
        )
        assert res.status_code == 303


def test_a_login_form_without_its_token_is_refused(server: LiveServer, admin: ConsoleUser) -> None:
    with new_client(server) as client:
        client.get("/console/login")  # has the login cookie, but the form omits the token
        res = client.post("/console/login", data={"email": admin.email, "password": PASSWORD})
        assert res.status_code == 403
        assert res.headers["content-type"].startswith("text/html")
        assert "Form token missing or invalid" in res.text
        assert f"/errors/{E.CSRF_REJECTED}" in res.text
    assert stored_sessions(server) == []


def test_a_form_posted_without_the_csrf_token_is_refused(
    server: LiveServer, console: httpx.Client
) -> None:
    res = console.post("/console/logout", data={})
    assert res.status_code == 403
    assert "Form token missing or invalid" in res.text
    res = console.post("/console/logout", data={"csrf_token": "0" * 64})
    assert res.status_code == 403
    # the session survived both attempts
    assert len(stored_sessions(server)) == 1
    assert console.get("/console/feedback").status_code == 200


def test_another_sessions_csrf_token_does_not_pass(
    server: LiveServer, console: httpx.Client, account: Account
) -> None:
    other = make_console_user(server, account, "other@example.com")
    with new_client(server) as client:
        sign_in(client, other)
        foreign_token = csrf_of(client.get("/console/feedback").text)
    res = console.post("/console/logout", data={"csrf_token": foreign_token})
    assert res.status_code == 403


def test_logout_ends_the_session_on_the_server(server: LiveServer, console: httpx.Client) -> None:
    token = csrf_of(console.get("/console/feedback").text)
    cookie = console.cookies["thumbs_session"]
    res = console.post("/console/logout", data={"csrf_token": token})
    assert res.status_code == 303
    assert res.headers["location"] == "/console/login"
    assert stored_sessions(server) == []
    with new_client(server) as replay:
        replay.cookies.set("thumbs_session", cookie, path="/console")
        res = replay.get("/console/feedback")
        assert res.status_code == 303
        assert res.headers["location"].startswith("/console/login")


def test_scripts_may_send_the_csrf_token_as_a_header(
    server: LiveServer, console: httpx.Client
) -> None:
    token = csrf_of(console.get("/console/feedback").text)
    res = console.post("/console/logout", headers={"X-CSRF-Token": token})
    assert res.status_code == 303
    assert stored_sessions(server) == []


def test_an_expired_session_signs_out(server: LiveServer, console: httpx.Client) -> None:
    with server.runtime.store.session() as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    res = console.get("/console/settings")
    assert res.status_code == 303
    assert unquote(res.headers["location"]) == "/console/login?next=/console/settings"


def test_pages_need_a_session_and_come_back_after_sign_in(
    server: LiveServer, admin: ConsoleUser
) -> None:
    with new_client(server) as client:
        res = client.get("/console/feedback?status=pending")
        assert res.status_code == 303
        location = res.headers["location"]
        assert unquote(location) == "/console/login?next=/console/feedback?status=pending"
        form = client.get(location)
        res = client.post(
            "/console/login",
            data={
                "email": admin.email,
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": "/console/feedback?status=pending",
            },
        )
        assert res.headers["location"] == "/console/feedback?status=pending"


def test_sign_in_never_redirects_off_the_console(server: LiveServer, admin: ConsoleUser) -> None:
    for target in ["https://evil.example/", "//evil.example/", "/v1/Assistants"]:
        with new_client(server) as client:
            token = csrf_of(client.get("/console/login").text)
            res = client.post(
                "/console/login",
                data={
                    "email": admin.email,
                    "password": PASSWORD,
                    "csrf_token": token,
                    "next": target,
                },
            )
            assert res.headers["location"] == "/console/"


def test_console_pages_carry_security_headers_and_html_errors(console: httpx.Client) -> None:
    res = console.get("/console/feedback")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert res.headers["x-frame-options"] == "DENY"
    assert res.headers["cache-control"] == "no-store"
    missing = console.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "/console/no-such-page" in missing.text


def test_scripts_asking_for_json_get_the_json_error_body(
    server: LiveServer, console: httpx.Client
) -> None:
    res = console.get("/console/feedback?type=sideways", headers={"Accept": "application/json"})
    assert res.status_code == 400
    body = res.json()
    assert (body["code"], body["status"], body["details"]) == (
        E.INVALID_VALUE,
        400,
        {"field": "type"},
    )
    with new_client(server) as anonymous:
        res = anonymous.get("/console/feedback", headers={"Accept": "application/json"})
        assert res.status_code == 401
        assert res.json()["code"] == E.AUTHENTICATION_FAILED


def test_static_files_are_served_from_the_package(server: LiveServer) -> None:
    with new_client(server) as client:
        assert client.get("/console/static/console.css").status_code == 200
        js = client.get("/console/static/console.js")
        assert js.status_code == 200
        assert "X-CSRF-Token" in js.text


def test_the_root_leads_to_the_console(server: LiveServer) -> None:
    with new_client(server) as client:
        res = client.get("/")
        assert res.status_code == 307
        assert res.headers["location"] == "/console/"


# -- feedback explorer ---------------------------------------------------------------------


def _feedback(api: httpx.Client, assistant_id: str, **body: object) -> str:
    res = api.post(f"/v1/Assistants/{assistant_id}/Feedbacks", json=body)
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="(aia_fdbk_[^"]+)"', html)


def test_the_explorer_lists_the_accounts_feedback_newest_first_and_no_one_elses(
    server: LiveServer,
    console: httpx.Client,
    api: httpx.Client,
    assistant_id: str,
    other_account: Account,
) -> None:
    first = _feedback(api, assistant_id, session_id="s1", score=1, text="great")
    second = _feedback(api, assistant_id, session_id="s2", score=0, text="bad")
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        theirs = other.post("/v1/Assistants", json={"name": "theirs"}).json()["id"]
        hidden = _feedback(other, theirs, session_id="s1", score=1, text="secret")
        page = console.get("/console/feedback")
        assert page.status_code == 200
        assert _ids(page.text) == [second, first]
        assert hidden not in page.text
        assert "secret" not in page.text
        # another account's assistant is not found, never forbidden
        res = console.get(f"/console/feedback?assistant={theirs}")
        assert res.status_code == 404
        # and neither is another account's session
        assert console.get("/console/sessions/s1").status_code == 200
        res = console.get(f"/console/sessions/s1?assistant={theirs}")
        assert res.status_code == 404


def test_the_explorer_filters(console: httpx.Client, api: httpx.Client, assistant_id: str) -> None:
    other_bot = api.post("/v1/Assistants", json={"name": "Other bot"}).json()["id"]
    up = _feedback(api, assistant_id, session_id="s1", score=1)
    down = _feedback(api, assistant_id, session_id="s2", score=0.2, text="meh")
    textual = _feedback(api, assistant_id, session_id="s2", text="just words")
    elsewhere = _feedback(api, other_bot, session_id="s1", score=1)

    def shown(query: str) -> list[str]:
        res = console.get(f"/console/feedback?{query}")
        assert res.status_code == 200, res.text
        return _ids(res.text)

    assert shown("type=positive") == [elsewhere, up]
    assert shown("type=negative") == [down]
    assert shown("type=none") == [textual]
    assert shown(f"assistant={assistant_id}") == [textual, down, up]
    assert shown("session_id=s2") == [textual, down]
    assert shown("status=pending&channel=api") == [elsewhere, textual, down, up]
    assert shown("status=reviewed") == []
    # empty fields of the filter form mean "any"
    assert shown("assistant=&status=&type=&channel=&session_id=&date_from=&date_to=") == [
        elsewhere,
        textual,
        down,
        up,
    ]
    today = utcnow().date()
    assert len(shown(f"date_from={today}&date_to={today}")) == 4
    assert shown(f"date_from={today + timedelta(days=1)}") == []
    bad = console.get("/console/feedback?type=sideways")
    assert bad.status_code == 400
    assert "type must be one of" in bad.text
    assert console.get("/console/feedback?date_from=yesterday").status_code == 400


def test_the_explorer_pages_with_keyset_links(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    made = [_feedback(api, assistant_id, session_id=f"s{i}", score=1) for i in range(5)]
    newest_first = list(reversed(made))
    seen: list[str] = []
    url = "/console/feedback?PageSize=2&type=positive"
    pages = 0
    while url:
        res = console.get(url)
        assert res.status_code == 200
        seen += _ids(res.text)
        pages += 1
        older = re.search(r'<a rel="next" href="([^"]+)"', res.text)
        url = older.group(1).replace("&amp;", "&") if older else ""
        if url:
            assert "type=positive" in url
    assert pages == 3
    assert seen == newest_first
    # and back: the "newer" link of the last page shows the page before it
    last = console.get(
        "/console/feedback?PageSize=2&type=positive&PageToken="
        + re.search(r"PageToken=([^&\"]+)", res.request.url.query.decode()).group(1)  # type: ignore[union-attr]
    )
    newer = re.search(r'<a rel="prev" href="([^"]+)"', last.text)
    assert newer is not None
    back = console.get(newer.group(1).replace("&amp;", "&"))
    assert _ids(back.text) == newest_first[2:4]
    # a token belongs to its list: without the filter it is refused
    assert (
        console.get(
            back.request.url.path
            + "?"
            + back.request.url.query.decode().replace("type=positive", "type=negative")
        ).status_code
        == 400
    )


def test_the_explorer_links_each_feedback_to_its_session(
    console: httpx.Client, api: httpx.Client, assistant_id: str
) -> None:
    fid = _feedback(api, assistant_id, session_id="team/42 #a", score=1, text="<i>hi</i>")
    page = console.get("/console/feedback")
    link = re.search(r'class="fb-session" href="([^"]+)"', page.text)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert href == f"/console/sessions/team/42%20%23a?assistant={assistant_id}"
    session_page = console.get(href)
    assert session_page.status_code == 200
    assert fid in session_page.text
    assert "&lt;i&gt;hi&lt;/i&gt;" in session_page.text
    assert "<i>hi</i>" not in session_page.text


def test_an_unknown_session_is_not_found(console: httpx.Client) -> None:
    assert console.get("/console/sessions/nothing-here").status_code == 404


# -- assistants: responders ----------------------------------------------------------------


def _assistant(server: LiveServer, assistant_id: str) -> Assistant:
    with server.runtime.store.session() as s:
        return s.scalars(select(Assistant).where(Assistant.id == assistant_id)).one()


def test_an_admin_sets_an_assistants_responder(
    server: LiveServer, console: httpx.Client, assistant_id: str
) -> None:
    page = console.get("/console/assistants")
    assert page.status_code == 200
    assert "Support bot" in page.text
    res = console.post(
        f"/console/assistants/{assistant_id}",
        data={
            "csrf_token": csrf_of(page.text),
            "name": "Support bot",
            "responder": "openai",
            "responder_base_url": "http://127.0.0.1:11434/v1",
            "responder_model": "llama3.2",
            "responder_api_key_env": "THUMBS_TEST_KEY_THAT_IS_NOT_SET",
        },
    )
    assert res.status_code == 303
    assert res.headers["location"] == f"/console/assistants?done=saved#assistant-{assistant_id}"
    a = _assistant(server, assistant_id)
    assert (a.responder, a.responder_base_url, a.responder_model, a.responder_api_key_env) == (
        "openai",
        "http://127.0.0.1:11434/v1",
        "llama3.2",
        "THUMBS_TEST_KEY_THAT_IS_NOT_SET",
    )
    shown = console.get(res.headers["location"]).text
    assert "Assistant saved." in shown
    assert "not set</strong> on the server" in shown
    # back to embedded; emptied fields are cleared
    res = console.post(
        f"/console/assistants/{assistant_id}",
        data={"csrf_token": csrf_of(shown), "name": "Support bot", "responder": "embedded"},
    )
    assert res.status_code == 303
    a = _assistant(server, assistant_id)
    assert (a.responder, a.responder_base_url, a.responder_api_key_env) == ("embedded", None, None)


def test_a_bad_responder_setting_is_shown_and_not_stored(
    server: LiveServer, console: httpx.Client, assistant_id: str
) -> None:
    token = csrf_of(console.get("/console/assistants").text)
    for fields, message in [
        ({"responder_base_url": "ftp://x", "responder_model": "m"}, "responder_base_url"),
        ({"responder_base_url": "http://127.0.0.1:1/v1"}, "needs a model"),
        ({"responder_model": "m"}, "needs a base URL"),
        (
            {
                "responder_base_url": "http://h/v1",
                "responder_model": "m",
                "responder_api_key_env": "A-B",
            },
            "responder_api_key_env",
        ),
    ]:
        res = console.post(
            f"/console/assistants/{assistant_id}",
            data={"csrf_token": token, "name": "Support bot", "responder": "openai", **fields},
        )
        assert res.status_code == 400, fields
        assert message in res.text
    assert _assistant(server, assistant_id).responder == "embedded"


def test_a_member_sees_assistants_but_cannot_change_them(
    server: LiveServer, account: Account, assistant_id: str
) -> None:
    member = make_console_user(server, account, "member@example.com", "member")
    with new_client(server) as client:
        sign_in(client, member)
        page = client.get("/console/assistants")
        assert page.status_code == 200
        assert "Only admins can change assistants." in page.text
        res = client.post(
            f"/console/assistants/{assistant_id}",
            data={"csrf_token": csrf_of(page.text), "name": "x", "responder": "openai"},
        )
        assert res.status_code == 403
    assert _assistant(server, assistant_id).responder == "embedded"


def test_another_accounts_assistant_cannot_be_configured(
    server: LiveServer, console: httpx.Client, other_account: Account
) -> None:
    with server.client(auth=(other_account.sid, other_account.token)) as other:
        theirs = other.post("/v1/Assistants", json={"name": "theirs"}).json()["id"]
    token = csrf_of(console.get("/console/assistants").text)
    res = console.post(
        f"/console/assistants/{theirs}",
        data={
            "csrf_token": token,
            "name": "mine now",
            "responder": "openai",
            "responder_base_url": "http://h/v1",
            "responder_model": "m",
        },
    )
    assert res.status_code == 404
    assert _assistant(server, theirs).responder == "embedded"
