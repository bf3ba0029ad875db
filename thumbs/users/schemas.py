from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import InputModel, OutputModel, PageMeta, RequiredId

Identity = RequiredId
Role = Literal["end_user", "member", "admin"]


class UserCreate(InputModel):
    identity: Identity = Field(description="How the application and API calls name this user.")
    role: Role = Field(default="end_user", description="end_user, member or admin.")
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)] | None = None


class UserUpdate(InputModel):
    role: Role


class UserOut(OutputModel):
    sid: str = Field(pattern=r"^US[0-9a-f]{32}$")
    account_sid: str
    identity: str | None
    email: str | None
    role: str
    date_created: str
    date_updated: str


class UserList(OutputModel):
    users: list[UserOut]
    meta: PageMeta
