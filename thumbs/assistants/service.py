"""Assistants: create, read, update, delete, always inside one account."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from thumbs.assistants.schemas import AssistantCreate, AssistantUpdate, ResponderSettings
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.responders.service import OPENAI
from thumbs.store import rollups
from thumbs.store.models import Assistant, Feedback

EMBEDDED_MODEL = "thumbs-embedded"
RESPONDER_FIELDS = ("responder", "responder_base_url", "responder_model", "responder_api_key_env")


def get(session: Session, *, account_pk: int, assistant_id: str) -> Assistant:
    """The assistant, if it exists in this account; otherwise a 404 (never a 403)."""
    if len(assistant_id) > 64:
        raise E.NotFound("Assistant", assistant_id[:64] + "…")
    assistant = session.scalars(
        select(Assistant).where(Assistant.id == assistant_id, Assistant.account_pk == account_pk)
    ).one_or_none()
    if assistant is None:
        raise E.NotFound("Assistant", assistant_id)
    return assistant


def pk_of(session: Session, *, account_pk: int, assistant_id: str | None) -> int | None:
    """An optional ``AssistantId`` filter: None stays None, an id becomes its key (or 404)."""
    if assistant_id is None:
        return None
    return get(session, account_pk=account_pk, assistant_id=assistant_id).pk


def _apply(session: Session, assistant: Assistant, fields: dict[str, Any]) -> None:
    for name in ("name", "owner", "personality_prompt", "positive_threshold"):
        if name in fields and fields[name] is not None:
            setattr(assistant, name, fields[name])
    if fields.get("customer_ai") is not None:
        assistant.customer_ai = dict(fields["customer_ai"])
    if fields.get("segment_credential") is not None:
        assistant.segment_space_id = fields["segment_credential"].get("space_id")
    given = {k: fields[k] for k in RESPONDER_FIELDS if fields.get(k) is not None}
    if given:  # the API changes the fields it is given and keeps the others
        kept = {k: getattr(assistant, k) for k in RESPONDER_FIELDS}
        settings = ResponderSettings.model_construct(**{**kept, **given})
        set_responder(session, assistant=assistant, settings=settings)


# -- the responder -----------------------------------------------------------------------------


def set_responder(session: Session, *, assistant: Assistant, settings: ResponderSettings) -> None:
    """Give the assistant this responder: the one rule for the API and the console alike.

    An OpenAI-compatible responder (``openai``) needs a base URL and a model (it cannot
    answer without them); the API key variable is optional (without one no Authorization
    header is sent, as for Ollama). Refused settings change nothing."""
    if settings.responder == OPENAI:
        if not settings.responder_base_url:
            raise E.InvalidField(
                E.MISSING_FIELD,
                "responder_base_url",
                "An OpenAI-compatible responder needs a base URL (responder_base_url)",
            )
        if not settings.responder_model:
            raise E.InvalidField(
                E.MISSING_FIELD,
                "responder_model",
                "An OpenAI-compatible responder needs a model (responder_model)",
            )
    assistant.responder = settings.responder
    assistant.responder_base_url = settings.responder_base_url
    assistant.responder_model = settings.responder_model
    assistant.responder_api_key_env = settings.responder_api_key_env
    assistant.date_updated = utcnow()
    session.flush()


def responder_key_is_set(assistant: Assistant) -> bool | None:
    """Whether the API key variable named by the assistant is set on this server (the value
    is never shown); None when no variable is named."""
    if not assistant.responder_api_key_env:
        return None
    return bool(os.environ.get(assistant.responder_api_key_env))


# -- create, update, list, delete --------------------------------------------------------------


def create(session: Session, *, account_pk: int, data: AssistantCreate) -> Assistant:
    assistant = Assistant(
        id=ids.new_id(ids.ASSISTANT),
        account_pk=account_pk,
        name=data.name,
        owner="",
        model="",
        personality_prompt="",
        customer_ai={"perception_engine_enabled": False, "personalization_engine_enabled": False},
        positive_threshold=0.5,
        responder="embedded",
    )
    session.add(assistant)
    _apply(session, assistant, data.model_dump(exclude_unset=True))
    session.flush()
    return assistant


def update(session: Session, *, assistant: Assistant, data: AssistantUpdate) -> Assistant:
    _apply(session, assistant, data.model_dump(exclude_unset=True))
    assistant.date_updated = utcnow()
    session.flush()
    return assistant


def list_page(session: Session, *, account_pk: int, params: PageParams) -> Page[Assistant]:
    stmt = select(Assistant).where(Assistant.account_pk == account_pk)
    return keyset_page(session, stmt, Assistant.pk, params)


def all_by_name(session: Session, *, account_pk: int) -> list[Assistant]:
    """Every assistant of the account, by name (the console's pickers)."""
    stmt = select(Assistant).where(Assistant.account_pk == account_pk).order_by(Assistant.name)
    return list(session.scalars(stmt).all())


def by_pk(session: Session, *, account_pk: int, pks: set[int]) -> dict[int, Assistant]:
    """The account's assistants with these keys (to name the assistant of each listed row)."""
    if not pks:
        return {}
    stmt = select(Assistant).where(Assistant.account_pk == account_pk, Assistant.pk.in_(pks))
    return {a.pk: a for a in session.scalars(stmt).all()}


def remove(session: Session, *, assistant: Assistant, cascade: bool) -> None:
    """Delete an assistant. Feedback is the product: an assistant that has feedback is only
    deleted with ``cascade`` (its feedback, sessions and golden examples go with it).

    The assistant's row is locked first (PostgreSQL; SQLite writes one at a time anyway): a
    create that is writing feedback for it (holding a key-share lock on the row through the
    foreign key, then updating rollup cells) finishes first, and a create that comes later
    waits, then finds the assistant gone (404). Taking the rollup cells before the row would
    deadlock with such a create."""
    session.execute(select(Assistant.pk).where(Assistant.pk == assistant.pk).with_for_update())
    count = (
        session.scalar(
            select(func.count()).select_from(Feedback).where(Feedback.assistant_pk == assistant.pk)
        )
        or 0
    )
    if count and not cascade:
        raise E.Conflict(
            f"Assistant {assistant.id} has {count} feedback records; delete with "
            "Cascade=true to delete them too",
            feedback_count=count,
        )
    rollups.deleting_assistant(session, assistant_pk=assistant.pk)
    session.execute(delete(Feedback).where(Feedback.assistant_pk == assistant.pk))
    session.delete(assistant)
    session.flush()


def to_out(assistant: Assistant, *, account_sid: str, base_url: str) -> dict[str, Any]:
    customer_ai = assistant.customer_ai or {}
    return {
        "id": assistant.id,
        "account_sid": account_sid,
        "name": assistant.name,
        "owner": assistant.owner,
        "model": assistant.responder_model or EMBEDDED_MODEL,
        "personality_prompt": assistant.personality_prompt,
        "customer_ai": {
            "perception_engine_enabled": bool(customer_ai.get("perception_engine_enabled")),
            "personalization_engine_enabled": bool(
                customer_ai.get("personalization_engine_enabled")
            ),
        },
        "url": f"{base_url}/v1/Assistants/{assistant.id}",
        "date_created": iso(assistant.date_created),
        "date_updated": iso(assistant.date_updated),
        "positive_threshold": assistant.positive_threshold,
        "responder": {
            "kind": assistant.responder,
            "base_url": assistant.responder_base_url,
            "model": assistant.responder_model,
            "api_key_env": assistant.responder_api_key_env,
        },
    }
