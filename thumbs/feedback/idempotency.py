"""How long an idempotency key holds, and the cleanup of expired ones (no HTTP here).

A create's idempotency key replays the first response for 24 hours (``TTL``, the window
Stripe and Twilio's own clients retry within). After that the key has expired: a request
with it creates anew, as if the key were new, and the expired row is replaced in the same
transaction. Expired rows are deleted in bounded batches, by the server every
``THUMBS_CLEANUP_INTERVAL`` seconds and by ``thumbs db cleanup``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, tuple_

from thumbs.kit.timefmt import utcnow
from thumbs.store.models import IdempotencyKey

TTL = timedelta(hours=24)


def expiry_cutoff(now: datetime | None = None) -> datetime:
    """Keys created before this instant have expired."""
    return (now or utcnow()) - TTL


def delete_expired(engine: Engine, *, limit: int, now: datetime | None = None) -> int:
    """Delete at most ``limit`` expired keys, oldest first, in one short transaction;
    returns how many were deleted."""
    cutoff = expiry_cutoff(now)
    oldest = (
        select(IdempotencyKey.account_pk, IdempotencyKey.key)
        .where(IdempotencyKey.date_created < cutoff)
        .order_by(IdempotencyKey.date_created)
        .limit(limit)
    )
    with engine.begin() as conn:
        result = conn.execute(
            delete(IdempotencyKey)
            .where(tuple_(IdempotencyKey.account_pk, IdempotencyKey.key).in_(oldest))
            .where(IdempotencyKey.date_created < cutoff)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def delete_all_expired(engine: Engine, *, batch: int) -> int:
    """Delete every expired key, ``batch`` rows per transaction (``thumbs db cleanup``)."""
    total = 0
    now = utcnow()
    while True:
        deleted = delete_expired(engine, limit=batch, now=now)
        total += deleted
        if deleted < batch:
            return total
