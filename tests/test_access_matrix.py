"""The access matrix: every route of the API, taken from the app itself (a new route cannot be
forgotten), called by every kind of caller, answers what docs/lifecycle.md documents, and
leaks nothing: no answer to a caller outside account A holds an id of A that the caller did
not send, another account's resource is a 404 (never a 403), and a refused request (401,
403, 404) changes nothing in the store.

The callers: no credentials, a wrong secret, another account (its own Auth Token), an end
user of A (``X-Thumbs-Identity`` naming an end user, and naming *another* end user wherever
the route takes an identity), a member of A, an API key of A, and A's Auth Token (admin)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select

from tests.conftest import Account, LiveServer, make_account
from tests.lifecycle_helpers import log_turn, make_user, thumbs
from tests.support import assert_error, create_assistant, create_feedback
from thumbs.app import create_app
from thumbs.config import Settings
from thumbs.store.models import Base

DOC = (Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md").read_text(encoding="utf-8")
ROW = re.compile(
    r"^\| (GET|POST|PUT|DELETE) \| `(/[^`]*)` \| (public|end user|member|admin|auth token) \|$",
    re.MULTILINE,
)
DOCUMENTED: dict[tuple[str, str], str] = {(m, p): role for m, p, role in ROW.findall(DOC)}

OWNER = "user:owner"  # the end user whose conversation, verdict and user record A holds
INTRUDER = "user:intruder"  # another end user of A
MEMBER = "member:1"

CALLERS = [
    "no credentials",
    "wrong secret",
    "other account",
    "end user",
    "member",
    "api key",
    "admin",  # last: its calls may delete what the others tried
]


def served_routes() -> set[tuple[str, str]]:
    """Every (method, path) the app serves outside the console (which has its own matrix)."""
    app = create_app(Settings(database_url="sqlite://"))  # routes only: never started
    served: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        if route.path.startswith("/console"):
            continue
        served |= {(method, route.path) for method in (route.methods or set()) - {"HEAD"}}
    return served


def test_every_route_the_app_serves_is_in_the_documented_access_table() -> None:
    assert served_routes() == set(DOCUMENTED)


# -- the world: account A with one of everything, and account B ---------------------------


@dataclass
class World:
    a: Account
    b: Account
    assistant: str
    feedback: str  # a Twilio feedback (channel api)
    thumb: str  # OWNER's pending verdict (channel thumbs), for the review routes
    message: str  # the assistant reply OWNER rated
    session: str
    golden: str
    pair: str
    owner_sid: str
    member_sid: str
    key_sid: str
    key_secret: str

    def a_ids(self) -> set[str]:
        return {
            self.a.sid,
            self.assistant,
            self.feedback,
            self.thumb,
            self.message,
            self.session,
            self.golden,
            self.pair,
            self.owner_sid,
            self.member_sid,
            self.key_sid,
        }


def build_world(server: LiveServer, a: Account, b: Account) -> World:
    with server.client(auth=(a.sid, a.token)) as api:
        assistant = create_assistant(api)
        session = f"sess-{uuid.uuid4().hex}"
        message = log_turn(api, assistant, session_id=session, identity=OWNER)
        thumb = thumbs(api, message, "positive", identity=OWNER)
        assert thumb.status_code == 201, thumb.text
        critic = thumbs(api, message, "negative", identity="user:critic").json()["id"]
        approved = api.post(f"/v1/Review/{critic}/Approve", json={"corrected_response": "Use SSO."})
        assert approved.status_code == 200, approved.text
        [golden] = api.get("/v1/GoldenExamples").json()["golden_examples"]
        [pair] = api.get("/v1/PreferencePairs").json()["preference_pairs"]
        feedback = create_feedback(api, assistant, score=0.2, text="slow")["id"]
        member = make_user(api, MEMBER, "member")
        owners = api.get("/v1/Users", params={"Role": "end_user"}).json()["users"]
        [owner_sid] = [u["sid"] for u in owners if u["identity"] == OWNER]
        key = api.post("/v1/Keys", json={"friendly_name": "app"})
        assert key.status_code == 201, key.text
    return World(
        a=a,
        b=b,
        assistant=assistant,
        feedback=feedback,
        thumb=thumb.json()["id"],
        message=message,
        session=session,
        golden=golden["id"],
        pair=pair["id"],
        owner_sid=owner_sid,
        member_sid=member["sid"],
        key_sid=key.json()["sid"],
        key_secret=key.json()["secret"],
    )


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


def store_digest(server: LiveServer) -> list[Any]:
    """Every row of every table (the console's sign-in sessions aside), in key order."""
    rows: list[Any] = []
    with server.runtime.store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "web_sessions":
                continue
            order = list(table.primary_key.columns)
            rows.append(
                (table.name, [tuple(r) for r in conn.execute(select(table).order_by(*order))])
            )
    return rows


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
