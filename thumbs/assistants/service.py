"""Assistants: create, read, update, delete, always inside one account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from thumbs.assistants.schemas import AssistantCreate, AssistantUpdate
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.paging import Page, PageParams, keyset_page
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store.models import Assistant, Feedback

EMBEDDED_MODEL = "thumbs-embedded"


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


def _apply(assistant: Assistant, fields: dict[str, Any]) -> None:
    for name in (
        "name",
        "owner",
        "personality_prompt",
        "positive_threshold",
        "responder",
        "responder_base_url",
        "responder_model",
        "responder_api_key_env",
    ):
        if name in fields and fields[name] is not None:
            setattr(assistant, name, fields[name])
    if fields.get("customer_ai") is not None:
        assistant.customer_ai = dict(fields["customer_ai"])
    if fields.get("segment_credential") is not None:
        assistant.segment_space_id = fields["segment_credential"].get("space_id")
    if assistant.responder == "openai" and not assistant.responder_base_url:
        raise E.InvalidField(
            E.MISSING_FIELD, "responder_base_url", "responder 'openai' needs responder_base_url"
        )


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
    _apply(assistant, data.model_dump(exclude_unset=True))
    session.add(assistant)
    session.flush()
    return assistant


def update(session: Session, *, assistant: Assistant, data: AssistantUpdate) -> Assistant:
    _apply(assistant, data.model_dump(exclude_unset=True))
    assistant.date_updated = utcnow()
    session.flush()
    return assistant


def list_page(session: Session, *, account_pk: int, params: PageParams) -> Page[Assistant]:
    stmt = select(Assistant).where(Assistant.account_pk == account_pk)
    return keyset_page(session, stmt, Assistant.pk, params)


def remove(session: Session, *, assistant: Assistant, cascade: bool) -> None:
    """Delete an assistant. Feedback is the product: an assistant that has feedback is only
    deleted with ``cascade`` (its feedback, sessions and golden examples go with it)."""
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
