""" "This assistant exists in your account", written once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from thumbs.assistants import service
from thumbs.auth.deps import CurrentPrincipal
from thumbs.kit.deps import DbSession
from thumbs.store.models import Assistant

AssistantIdPath = Annotated[str, Path(alias="id", description="The assistant ID (aia_asst_…).")]


def scoped_assistant(
    session: DbSession, principal: CurrentPrincipal, assistant_id: AssistantIdPath
) -> Assistant:
    return service.get(session, account_pk=principal.account_pk, assistant_id=assistant_id)


AccountAssistant = Annotated[Assistant, Depends(scoped_assistant)]
