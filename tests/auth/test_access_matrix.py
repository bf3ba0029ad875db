"""The access matrix: every route of the API, taken from the app itself (a new route cannot be
forgotten), called by every kind of caller, answers what docs/lifecycle.md documents, and
leaks nothing: no answer to a caller outside account A holds an id of A that the caller did
not send, another account's resource is a 404 (never a 403), and a refused request (401,
403, 404) changes nothing in the store.

The callers: no credentials, a wrong secret, another account (its own Auth Token), an end
user of A (``X-Thumbs-Identity`` naming an end user, and naming *another* end user wherever
the route takes an identity), a member of A, an API key of A, and A's Auth Token (admin)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.access import (
    INTRUDER,
    MEMBER,
    OWNER,
    World,
    build_world,
    documented_access,
    served_routes,
    store_digest,
    the_app,
)
from tests.support.accounts import make_account
from tests.support.http import assert_error
from tests.support.server import LiveServer

DOCUMENTED = documented_access(
    "lifecycle.md", ["public", "end user", "member", "admin", "auth token"]
)

CALLERS = [
    "no credentials",
    "wrong secret",
    "other account",
    "end user",
    "member",
    "api key",
    "admin",  # last: its calls may delete what the others tried
]


def test_every_route_the_app_serves_is_in_the_documented_access_table() -> None:
    api = {r for r in served_routes(the_app().routes) if not r[1].startswith("/console/")}
    assert api == set(DOCUMENTED)


# -- one valid request per route ----------------------------------------------------------

# routes whose request names an end user (always OWNER): an end user naming them is refused
NAMES_A_USER = {
    ("POST", "/v1/Thumbs"),
    ("GET", "/v1/Messages/{message_id}/Thumbs"),
    ("POST", "/v1/Assistants/{id}/Messages"),
}
# routes whose body (not only the path) names a resource of A
BODY_NAMES_A = {("POST", "/v1/Thumbs"), ("PUT", "/v1/Settings/Feedback")}
SUCCESS = {
    ("GET", "/"): 307,
    ("GET", "/favicon.ico"): 308,
    ("POST", "/v1/Assistants/{id}/Messages"): 200,
    ("POST", "/v1/Thumbs"): 200,  # OWNER's verdict exists: it is changed
    ("POST", "/v1/Review/{fid}/Approve"): 200,
    ("POST", "/v1/Review/{fid}/Dismiss"): 200,
}
DEFAULT_SUCCESS = {"GET": 200, "POST": 201, "PUT": 200, "DELETE": 204}


def path_for(path: str, w: World) -> str:
    values = {
        "id": w.session if path.startswith("/v1/Sessions") else w.assistant,
        "fid": w.thumb if path.startswith("/v1/Review") else w.feedback,
        "sid": w.key_sid if path.startswith("/v1/Keys") else w.owner_sid,
        "message_id": w.message,
        "gid": w.golden,
        "pid": w.pair,
        "code": "20404",
    }
    return path.format(**values)


def body_for(method: str, path: str, w: World) -> dict[str, Any] | None:
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/Assistants"): {"name": "Another bot"},
        ("PUT", "/v1/Assistants/{id}"): {"name": "Renamed bot"},
        ("POST", "/v1/Assistants/{id}/Feedbacks"): {"session_id": "s", "score": 0.9},
        ("PUT", "/v1/Assistants/{id}/Feedbacks/{fid}"): {"text": "edited"},
        ("POST", "/v1/Assistants/{id}/Messages"): {
            "identity": OWNER,
            "session_id": w.session,
            "body": "How do I reset my password?",
        },
        ("POST", "/v1/Assistants/{id}/Turns"): {
            "session_id": w.session,
            "body": "And my email?",
            "reply": "Settings, then Email.",
            "identity": OWNER,
        },
        ("POST", "/v1/Sessions/{id}/Messages"): {
            "role": "user",
            "content": "Thanks",
            "identity": OWNER,
            "assistant_id": w.assistant,
        },
        ("POST", "/v1/Users"): {"identity": "new:1", "role": "member"},
        ("PUT", "/v1/Users/{sid}"): {"role": "member"},
        ("POST", "/v1/Thumbs"): {
            "message_id": w.message,
            "feedback_type": "negative",
            "reason": "wrong",
            "identity": OWNER,
        },
        ("PUT", "/v1/Settings/Feedback"): {
            "feedback_type": "positive",
            "assistant_id": w.assistant,
            "auto_approve": True,
        },
        ("PUT", "/v1/GoldenExamples/{gid}"): {"output": "Use SSO, then reset."},
        ("POST", "/v1/Keys"): {"friendly_name": "ci"},
    }
    return bodies.get((method, path))


def params_for(method: str, path: str) -> dict[str, str] | None:
    return {
        ("DELETE", "/v1/Assistants/{id}"): {"Cascade": "true"},
        ("GET", "/v1/Messages/{message_id}/Thumbs"): {"Identity": OWNER},
        ("GET", "/v1/Exports/Golden"): {"Format": "openai"},
        ("GET", "/v1/Analytics/Compare"): {"DateCreatedAfterB": "2020-01-01T00:00:00Z"},
    }.get((method, path))


def expected_status(caller: str, method: str, path: str) -> int:
    role = DOCUMENTED[(method, path)]
    ok = SUCCESS.get((method, path), DEFAULT_SUCCESS[method])
    if role == "public":
        return ok
    if caller in ("no credentials", "wrong secret"):
        return 401
    if caller == "other account":  # B's own Auth Token: admin, in B
        names_a = "{" in path or (method, path) in BODY_NAMES_A
        return 404 if names_a else ok
    if caller == "end user":
        if role != "end user" or (method, path) in NAMES_A_USER:
            return 403
        return ok
    if caller == "member":
        return ok if role in ("end user", "member") else 403
    if caller == "api key":
        return 403 if role == "auth token" else ok
    return ok


def client_for(server: LiveServer, caller: str, w: World) -> httpx.Client:
    auth: tuple[str, str] | None = {
        "no credentials": None,
        "wrong secret": (w.a.sid, "f" * 32),
        "other account": (w.b.sid, w.b.token),
        "api key": (w.key_sid, w.key_secret),
    }.get(caller, (w.a.sid, w.a.token))
    client = server.client(auth=auth)
    if caller == "end user":
        client.headers["X-Thumbs-Identity"] = INTRUDER
    elif caller == "member":
        client.headers["X-Thumbs-Identity"] = MEMBER
    return client


@pytest.mark.parametrize(("method", "path"), sorted(DOCUMENTED))
def test_every_caller_gets_the_documented_answer_and_nothing_leaks(
    server: LiveServer, method: str, path: str
) -> None:
    world = build_world(server, make_account(server, "A"), make_account(server, "B"))
    for caller in CALLERS:
        w = world
        if caller == "api key" and method != "GET":
            # an admin too: its write gets a world of its own, so that the admin's after it
            # meets the same state (an assistant not yet deleted, a feedback not yet decided)
            w = build_world(server, make_account(server, "A2"), make_account(server, "B2"))
        url = path_for(path, w)
        body = body_for(method, path, w)
        params = params_for(method, path)
        sent = f"{url} {params} {body}"
        want = expected_status(caller, method, path)
        before = store_digest(server) if want in (401, 403, 404) else None
        with client_for(server, caller, w) as client:
            res = client.request(method, url, json=body, params=params)
        where = f"{caller}: {method} {url} -> {res.status_code} {res.text[:300]}"
        assert res.status_code == want, where
        if want in (401, 403, 404):
            assert_error(res, want, {401: 20003, 403: 60403, 404: 20404}[want])
            assert store_digest(server) == before, f"a refused request changed the store: {where}"
        if caller in ("no credentials", "wrong secret", "other account", "end user"):
            leaked = {i for i in w.a_ids() if i in res.text and i not in sent}
            if caller == "end user" and want != 403:
                leaked -= {w.a.sid}  # the end user's own account
            assert not leaked, f"{where}: leaked {leaked}"
        if caller == "end user" and want == 201:
            # a Twilio feedback tracked by an end user is theirs, never another's
            assert res.json()["user_sid"] not in (None, w.owner_sid), where
