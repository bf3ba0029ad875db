"""Imports in the tests: the import service run on the test server's store, a JSONL body,
and an assistant's feedback as the API lists it."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx

from tests.support.accounts import Account
from tests.support.http import feedbacks_path
from tests.support.server import LiveServer
from thumbs.exports import imports
from thumbs.feedback.service import assistant_ref


def run_import(
    server: LiveServer,
    account: Account,
    assistant_id: str,
    data: bytes,
    fmt: imports.SourceFormat = "jsonl",
    *,
    dry_run: bool = False,
) -> imports.ImportReport:
    with server.runtime.store.session() as session:
        ref = assistant_ref(session, account_pk=account.pk, assistant_id=assistant_id)
    return imports.import_feedback(
        server.runtime.store.engine,
        account_sid=account.sid,
        assistant=ref,
        stream=io.BytesIO(data),
        fmt=fmt,
        dry_run=dry_run,
    )


def jsonl(*rows: Any) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


def listed(api: httpx.Client, assistant_id: str) -> list[dict[str, Any]]:
    res = api.get(feedbacks_path(assistant_id), params={"PageSize": 1000})
    assert res.status_code == 200, res.text
    return list(reversed(res.json()["feedbacks"]))
