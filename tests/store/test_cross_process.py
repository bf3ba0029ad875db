"""Two real ``thumbs serve`` processes on one database: the races between them answer what one
process answers, never a 5xx. The same idempotency token sent to both at once is one row and
replays its id; the first use of a new X-Thumbs-Identity on both at once is one user; a
create on an assistant deleted through the other process (while this one's cache still
holds it) is a 404; other writes that race (users, sessions, thumbs, the first setting of
an assistant) give no 5xx and one row. Each race is fired many times, a bounded number."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.support.http import run
from tests.support.processes import Served, Tenant, make_tenant, serving, stored_ids
from thumbs.store.engine import Store
from thumbs.store.models import ConversationSession, Feedback, FeedbackSetting, User

pytestmark = pytest.mark.slow

ROUNDS = 25
PER_SERVER = 2  # concurrent requests per server and round


@pytest.fixture(scope="module")
def pair(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Served]]:
    """Two servers on one database, for every test of this module (on each backend)."""
    with serving(database_url, tmp_path_factory.mktemp("pair"), count=2) as servers:
        yield servers


@pytest.fixture
def tenant(database_url: str, pair: list[Served]) -> Tenant:
    return make_tenant(database_url, pair[0].url)


def count(database_url: str, stmt: Any) -> int:
    store = Store(database_url)
    try:
        with store.sessions() as session:
            return int(session.scalar(stmt) or 0)
    finally:
        store.dispose()


async def at_once(
    pair: list[Served],
    tenant: Tenant,
    method: str,
    path: str,
    bodies: list[dict[str, Any]],
    **kw: Any,
) -> list[httpx.Response]:
    """One request per body, spread over both servers, all sent at the same moment (on
    connections opened beforehand)."""
    clients = [
        httpx.AsyncClient(base_url=pair[i % 2].url, auth=tenant.auth, timeout=60)
        for i in range(len(bodies))
    ]
    try:
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        return list(
            await asyncio.gather(
                *(
                    c.request(method, path, json=b, **kw)
                    for c, b in zip(clients, bodies, strict=True)
                )
            )
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def creates_at_once(
    pair: list[Served], tenant: Tenant, bodies: list[dict[str, Any]], headers: dict[str, str]
) -> list[httpx.Response]:
    return run(at_once(pair, tenant, "POST", tenant.feedbacks, bodies, headers=headers))


def no_5xx(responses: list[httpx.Response]) -> None:
    assert [r.status_code for r in responses if r.status_code >= 500] == [], [
        r.text for r in responses if r.status_code >= 500
    ]


def test_the_same_idempotency_token_on_both_servers_is_one_row_and_replays_its_id(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    created: list[str] = []
    for r in range(ROUNDS):
        body = {"session_id": f"race-{r}", "score": 0.9, "text": f"round {r}"}
        responses = creates_at_once(
            pair, tenant, [body] * (2 * PER_SERVER), {"I-Twilio-Idempotency-Token": f"token-{r}"}
        )
        no_5xx(responses)
        assert [res.status_code for res in responses] == [201] * len(responses)
        ids = {res.json()["id"] for res in responses}
        assert len(ids) == 1, ids
        fresh = [res for res in responses if res.headers.get("Idempotent-Replayed") != "true"]
        assert len(fresh) == 1, [dict(res.headers) for res in responses]
        created.append(ids.pop())
    assert stored_ids(database_url, created) == dict.fromkeys(created, 1)
    assert (
        count(
            database_url,
            select(func.count())
            .select_from(Feedback)
            .where(Feedback.session_id.like("race-%"), Feedback.id.in_(created)),
        )
        == ROUNDS
    )


def test_a_new_identity_on_both_servers_at_once_is_one_user(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    for r in range(ROUNDS):
        identity = f"new-user-{r}"
        bodies = [
            {"session_id": f"identity-{r}", "score": 0.1, "text": f"request {i}"}
            for i in range(2 * PER_SERVER)
        ]
        responses = creates_at_once(pair, tenant, bodies, {"X-Thumbs-Identity": identity})
        no_5xx(responses)
        assert [res.status_code for res in responses] == [201] * len(responses)
        sids = {res.json()["user_sid"] for res in responses}
        assert len(sids) == 1, sids
        assert stored_ids(database_url, [res.json()["id"] for res in responses]) == {
            res.json()["id"]: 1 for res in responses
        }
        users = count(
            database_url, select(func.count()).select_from(User).where(User.identity == identity)
        )
        assert users == 1


def test_an_end_user_remembered_by_one_server_is_the_same_user_on_the_other(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    """Each process remembers the end users it has written; the other one, which has not
    seen them yet, finds the same user in the store."""
    a, b = pair
    for r in range(ROUNDS // 5):
        identity = f"remembered-{r}"
        sids = []
        for server in (a, a, b, a, b):
            res = httpx.post(
                server.url + tenant.feedbacks,
                json={"session_id": f"remembered-{r}", "score": 0.7},
                headers={"X-Thumbs-Identity": identity},
                auth=tenant.auth,
                timeout=60,
            )
            assert res.status_code == 201, res.text
            sids.append(res.json()["user_sid"])
        assert len(set(sids)) == 1, sids
        stmt = select(func.count()).select_from(User).where(User.identity == identity)
        assert count(database_url, stmt) == 1


def test_a_create_on_an_assistant_deleted_by_the_other_server_is_a_404(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    a, b = pair
    with (
        httpx.Client(base_url=a.url, auth=tenant.auth, timeout=60) as on_a,
        httpx.Client(base_url=b.url, auth=tenant.auth, timeout=60) as on_b,
    ):
        for r in range(ROUNDS // 5):
            res = on_a.post("/v1/Assistants", json={"name": f"short-lived {r}"})
            assert res.status_code == 201, res.text
            path = f"/v1/Assistants/{res.json()['id']}/Feedbacks"
            # b has the assistant in its cache now
            warm = on_b.post(path, json={"session_id": "warm", "score": 1})
            assert warm.status_code == 201, warm.text
            deleted = on_a.delete(f"/v1/Assistants/{res.json()['id']}", params={"Cascade": "true"})
            assert deleted.status_code == 204, deleted.text
            for i in range(3):
                late = on_b.post(path, json={"session_id": "late", "text": f"after {i}"})
                assert late.status_code == 404, late.text
                assert late.json()["code"] == 20404
            assert stored_ids(database_url, [warm.json()["id"]]) == {}


def test_creates_racing_a_delete_on_the_other_server_are_201_or_404(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    a, b = pair

    async def race(r: int) -> tuple[httpx.Response, list[httpx.Response]]:
        async with (
            httpx.AsyncClient(base_url=a.url, auth=tenant.auth, timeout=60) as on_a,
            httpx.AsyncClient(base_url=b.url, auth=tenant.auth, timeout=60) as on_b,
        ):
            res = await on_a.post("/v1/Assistants", json={"name": f"raced {r}"})
            assert res.status_code == 201, res.text
            aid = res.json()["id"]
            path = f"/v1/Assistants/{aid}/Feedbacks"
            assert (await on_b.post(path, json={"session_id": "warm"})).status_code == 201
            delete = on_a.delete(f"/v1/Assistants/{aid}", params={"Cascade": "true"})
            creates = [
                on_b.post(path, json={"session_id": "raced", "text": str(i)}) for i in range(6)
            ]
            done = await asyncio.gather(delete, *creates)
            return done[0], list(done[1:])

    for r in range(ROUNDS // 5):
        deleted, creates = run(race(r))
        assert deleted.status_code == 204, deleted.text
        no_5xx(creates)
        assert {c.status_code for c in creates} <= {201, 404}, [c.text for c in creates]
        # whatever was created before the delete went with it
        assert (
            stored_ids(database_url, [c.json()["id"] for c in creates if c.status_code == 201])
            == {}
        )


def test_other_writes_racing_across_servers_give_no_5xx_and_one_row(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    for r in range(ROUNDS // 5):
        # a console-less user by identity, on both servers at once: one 201, the rest 409
        users = run(
            at_once(
                pair, tenant, "POST", "/v1/Users", [{"identity": f"made-{r}"}] * (2 * PER_SERVER)
            )
        )
        no_5xx(users)
        assert sorted(u.status_code for u in users) == [201] + [409] * (2 * PER_SERVER - 1)
        # a new session and a new end user, logged by the backend on both servers at once
        logged = run(
            at_once(
                pair,
                tenant,
                "POST",
                f"/v1/Sessions/conv-{r}/Messages",
                [
                    {
                        "assistant_id": tenant.assistant_id,
                        "role": "assistant",
                        "content": f"reply {i}",
                        "identity": f"talker-{r}",
                    }
                    for i in range(2 * PER_SERVER)
                ],
            )
        )
        no_5xx(logged)
        assert [m.status_code for m in logged] == [201] * len(logged)
        assert (
            count(
                database_url,
                select(func.count())
                .select_from(ConversationSession)
                .where(ConversationSession.id == f"conv-{r}"),
            )
            == 1
        )
        # the same end user's thumbs on the same reply, on both servers at once: one verdict
        message_id = logged[0].json()["id"]
        thumbs = run(
            at_once(
                pair,
                tenant,
                "POST",
                "/v1/Thumbs",
                [{"message_id": message_id, "feedback_type": "positive"}] * (2 * PER_SERVER),
                headers={"X-Thumbs-Identity": f"rater-{r}"},
            )
        )
        no_5xx(thumbs)
        assert {t.status_code for t in thumbs} <= {200, 201}, [t.text for t in thumbs]
        assert len({t.json()["id"] for t in thumbs}) == 1
        assert (
            count(
                database_url,
                select(func.count())
                .select_from(Feedback)
                .where(Feedback.message_id == message_id, Feedback.channel == "thumbs"),
            )
            == 1
        )


def test_the_first_setting_of_an_assistant_on_both_servers_at_once_is_one_row(
    database_url: str, pair: list[Served], tenant: Tenant
) -> None:
    for r in range(ROUNDS // 5):
        made = httpx.post(
            f"{pair[0].url}/v1/Assistants", json={"name": f"set-{r}"}, auth=tenant.auth, timeout=30
        )
        assert made.status_code == 201, made.text
        assistant_id = made.json()["id"]
        # every request sets one flag of the same type: all succeed, on one row
        bodies = [
            {"assistant_id": assistant_id, "feedback_type": "negative", "require_reason": True}
            if i % 2
            else {"assistant_id": assistant_id, "feedback_type": "negative", "auto_approve": True}
            for i in range(2 * PER_SERVER)
        ]
        puts = run(at_once(pair, tenant, "PUT", "/v1/Settings/Feedback", bodies))
        assert [p.status_code for p in puts] == [200] * len(puts), [p.text for p in puts]
        assert (
            count(
                database_url,
                select(func.count())
                .select_from(FeedbackSetting)
                .where(FeedbackSetting.scope == assistant_id),
            )
            == 1
        )
        got = httpx.get(
            f"{pair[1].url}/v1/Settings/Feedback",
            params={"AssistantId": assistant_id},
            auth=tenant.auth,
            timeout=30,
        ).json()["settings"]
        negative = next(s for s in got if s["feedback_type"] == "negative")
        assert (negative["auto_approve"], negative["require_reason"], negative["source"]) == (
            True,
            True,
            "assistant",
        )
