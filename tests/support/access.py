"""What the access tests share: the routes an app serves (taken from the app itself), the
access table a document states, and the world they run in: account A with one of
everything (an assistant, a conversation, a verdict, a Twilio feedback, a golden example
and its preference pair, a member, an API key), and account B beside it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from starlette.routing import BaseRoute, Mount

from tests.support.accounts import Account, create_user
from tests.support.http import create_assistant, create_feedback
from tests.support.lifecycle import log_turn, thumbs
from tests.support.server import LiveServer
from thumbs.store.models import Base

DOCS = Path(__file__).resolve().parents[2] / "docs"


def the_app() -> FastAPI:
    """The application as served (its routes only: it is never started here)."""
    from thumbs.app import create_app
    from thumbs.config import Settings

    return create_app(Settings(database_url="sqlite://"))


def served_routes(routes: Sequence[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """``(method, path)`` of every route; a mount is ``GET <mount>/{path}``."""
    served: set[tuple[str, str]] = set()
    for route in iter_route_contexts(routes):
        path = prefix + re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if isinstance(route.route, Mount):
            served.add(("GET", path + "/{path}"))
            continue
        served |= {(method, path) for method in (route.methods or set()) - {"HEAD"}}
    return served


def documented_access(doc: str, roles: Sequence[str]) -> dict[tuple[str, str], str]:
    """The rows ``| METHOD | `path` | role |`` of a document's access table."""
    row = re.compile(
        rf"^\| (GET|POST|PUT|DELETE) \| `(/[^`]*)` \| ({'|'.join(roles)}) \|$", re.MULTILINE
    )
    text = (DOCS / doc).read_text(encoding="utf-8")
    return {(method, path): role for method, path, role in row.findall(text)}


OWNER = "user:owner"  # the end user whose conversation, verdict and user record A holds
INTRUDER = "user:intruder"  # another end user of A
MEMBER = "member:1"


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
        member = create_user(api, MEMBER, "member")
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
