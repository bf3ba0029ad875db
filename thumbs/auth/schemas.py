from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import ID_MAX, InputModel, RequiredId


class AccountCreate(InputModel):
    name: RequiredId = Field(description="A name for the account (its friendly name).")


class ApiKeyCreate(InputModel):
    name: Annotated[str, StringConstraints(max_length=ID_MAX)] = Field(
        default="", description="A name for the key."
    )
