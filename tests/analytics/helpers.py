"""Seeding feedback at chosen times through the create path's own batch writer, and the
numbers recomputed from the rows in plain Python (the oracle the rollups are checked
against)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tests.support.accounts import Account
from tests.support.server import LiveServer
from thumbs.feedback import service as feedback_service
from thumbs.feedback.schemas import FeedbackCreate
from thumbs.store.models import Feedback


@dataclass(frozen=True)
class Seed:
    when: datetime  # naive UTC
    score: float | None = None
    text: str | None = None
    session_id: str = "seeded"


def seed_at(server: LiveServer, account: Account, assistant_id: str, seeds: Sequence[Seed]) -> None:
    """One writer batch of feedback created at the given times."""
    with server.runtime.store.session() as session:
        ref = feedback_service.assistant_ref(
            session, account_pk=account.pk, assistant_id=assistant_id
        )
    jobs = []
    for s in seeds:
        job = feedback_service.prepare_create(
            ref=ref,
            account_sid=account.sid,
            data=FeedbackCreate(session_id=s.session_id, score=s.score, text=s.text),
            idempotency_key=None,
        )
        job.row["date_created"] = job.row["date_updated"] = s.when
        jobs.append(job)
    with server.runtime.store.engine.begin() as conn:
        feedback_service.CREATE_KIND.write_many(conn, jobs)


def rows(server: LiveServer, account: Account) -> list[Feedback]:
    with server.runtime.store.sessions() as session:
        return list(
            session.scalars(select(Feedback).where(Feedback.account_pk == account.pk)).all()
        )


def oracle(found: Sequence[Feedback]) -> dict[str, Any]:
    """The summary's numbers, counted from the rows."""
    pos = sum(f.feedback_type == "positive" for f in found)
    neg = sum(f.feedback_type == "negative" for f in found)
    scores = [f.score for f in found if f.score is not None]
    return {
        "count": len(found),
        "positive": pos,
        "negative": neg,
        "positive_rate": pos / (pos + neg) if pos + neg else None,
        "mean_score": sum(scores) / len(scores) if scores else None,
        "by_type": {
            "positive": pos,
            "negative": neg,
            "none": sum(f.feedback_type is None for f in found),
        },
        "by_status": {
            s: sum(f.status == s for f in found)
            for s in ("pending", "auto_approved", "reviewed", "dismissed")
        },
        "with_text": sum(bool(f.text) for f in found),
        "with_reason": sum(bool(f.reason) for f in found),
        "reviewed": sum(f.reviewed_at is not None for f in found),
    }


def same_numbers(got: dict[str, Any], want: dict[str, Any]) -> None:
    for key, value in want.items():
        if isinstance(value, float):
            assert abs(got[key] - value) < 1e-9, (key, got[key], value)
        else:
            assert got[key] == value, (key, got[key], value)
