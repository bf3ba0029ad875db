from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import ID_MAX, InputModel, OutputModel, PageMeta, RequiredId


class AccountCreate(InputModel):
    name: RequiredId = Field(description="A name for the account (its friendly name).")


class ApiKeyCreate(InputModel):
    friendly_name: Annotated[str, StringConstraints(max_length=ID_MAX)] = Field(
        default="", description="A name for the key."
    )


class ApiKeyOut(OutputModel):
    """Twilio's Key resource (the secret is never shown again)."""

    sid: str = Field(pattern=r"^SK[0-9a-f]{32}$")
    account_sid: str = Field(pattern=r"^AC[0-9a-f]{32}$")
    friendly_name: str
    date_created: str


class NewApiKeyOut(ApiKeyOut):
    """Twilio's new key: the only time the secret is shown (it is stored hashed)."""

    secret: str


class ApiKeyList(OutputModel):
    keys: list[ApiKeyOut]
    meta: PageMeta
