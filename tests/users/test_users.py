"""Users: end users by identity, console members and admins."""

from __future__ import annotations

import httpx

from tests.support.accounts import create_user, make_account
from tests.support.server import LiveServer


def test_admins_create_users_and_members_read_them(api: httpx.Client) -> None:
    member = create_user(api, "email:m@example.com", "member")
    assert member["sid"].startswith("US")
    assert member["role"] == "member"
    duplicate = api.post("/v1/Users", json={"identity": "email:m@example.com"})
    assert duplicate.status_code == 409

    as_member = {"X-Thumbs-Identity": "email:m@example.com"}
    listed = api.get("/v1/Users", headers=as_member).json()
    assert [u["sid"] for u in listed["users"]] == [member["sid"]]
    assert api.get(f"/v1/Users/{member['sid']}", headers=as_member).json() == member
    res = api.post("/v1/Users", json={"identity": "x", "role": "admin"}, headers=as_member)
    assert res.status_code == 403


def test_promoting_a_member_to_admin_takes_effect_at_once(api: httpx.Client) -> None:
    member = create_user(api, "ops:1", "member")
    as_user = {"X-Thumbs-Identity": "ops:1"}
    assert api.get("/v1/Review", headers=as_user).status_code == 403
    res = api.put(f"/v1/Users/{member['sid']}", json={"role": "admin"})
    assert res.status_code == 200
    assert api.get("/v1/Review", headers=as_user).status_code == 200


def test_user_input_is_validated(api: httpx.Client) -> None:
    assert api.post("/v1/Users", json={"identity": "", "role": "member"}).status_code == 400
    assert api.post("/v1/Users", json={"identity": "a", "role": "owner"}).status_code == 400
    assert api.get("/v1/Review", headers={"X-Thumbs-Identity": "x" * 300}).status_code == 400


def test_users_of_another_account_are_not_found(server: LiveServer, api: httpx.Client) -> None:
    user = create_user(api, "ops:1", "member")
    other = make_account(server, "other")
    with server.client(auth=(other.sid, other.token)) as intruder:
        assert intruder.get(f"/v1/Users/{user['sid']}").status_code == 404
        # the same identity in another account is another user, with no role there
        as_ops = {"X-Thumbs-Identity": "ops:1"}
        assert intruder.get("/v1/Settings/Feedback", headers=as_ops).status_code == 403
