"""What the console's screens share beyond one domain call: the assistant pickers and the
names of the assistants a page shows. Every rule lives in its domain (``thumbs.auth.console``
for console users and sessions, ``thumbs.assistants`` for responders, ``thumbs.review`` for
the lifecycle settings and the queue, ``thumbs.conversations`` for the session view,
``thumbs.feedback`` for the explorer's query, ``thumbs.web.forms`` for the forms); nothing
here decides.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from thumbs.assistants import service as assistants_service
from thumbs.auth.console import ConsoleUser
from thumbs.store.models import Assistant

__all__ = ["ConsoleUser"]


# -- assistants of the account -------------------------------------------------------------


def assistants(session: Session, *, account_pk: int) -> list[Assistant]:
    return assistants_service.all_by_name(session, account_pk=account_pk)


def assistant(session: Session, *, account_pk: int, assistant_id: str) -> Assistant:
    return assistants_service.get(session, account_pk=account_pk, assistant_id=assistant_id)


# -- names of the assistants a page shows -------------------------------------------------


def assistant_names(session: Session, *, account_pk: int, pks: set[int]) -> dict[int, Assistant]:
    return assistants_service.by_pk(session, account_pk=account_pk, pks=pks)
