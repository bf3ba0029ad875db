from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from thumbs.kit.schemas import InputModel, OutputModel, PageMeta

TEXT_MAX = 32_000

Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]


class Turn(InputModel):
    role: Literal["user", "assistant", "system"]
    content: Text


class TurnOut(OutputModel):
    role: str
    content: str


class GoldenUpdate(InputModel):
    input: Annotated[list[Turn], Field(max_length=500)] | None = Field(
        default=None, description="The conversation before the reply; prompt follows it."
    )
    prompt: Text | None = None
    output: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX)] | None = None


class GoldenOut(OutputModel):
    id: str = Field(pattern=r"^aia_gold_.+$")
    account_sid: str
    assistant_id: str | None
    feedback_id: str | None
    decision_id: str | None = Field(description="The transition (aia_dcsn_…) that made it.")
    message_id: str | None
    input: list[TurnOut]
    prompt: str = Field(description="The last user turn of the input.")
    output: str
    source: str = Field(description="original or corrected.")
    status: str = Field(description="active or withdrawn.")
    withdrawn_at: str | None
    withdrawn_reason: str | None
    date_created: str
    date_updated: str


class GoldenList(OutputModel):
    golden_examples: list[GoldenOut]
    meta: PageMeta


class PairOut(OutputModel):
    id: str = Field(pattern=r"^aia_pref_.+$")
    account_sid: str
    assistant_id: str | None
    golden_example_id: str | None
    feedback_id: str | None
    input: list[TurnOut]
    chosen: str
    rejected: str
    status: str
    date_created: str
    date_updated: str


class PairList(OutputModel):
    preference_pairs: list[PairOut]
    meta: PageMeta
