from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from thumbs.kit.schemas import InputModel, OutputModel, PageMeta, RequiredId, TwilioBody

Name = RequiredId
Short = Annotated[str, StringConstraints(max_length=256)]
Prompt = Annotated[str, StringConstraints(max_length=20_000)]
Url = Annotated[str, StringConstraints(max_length=1024, pattern=r"^https?://\S+$")]
EnvName = Annotated[str, StringConstraints(max_length=256, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class CustomerAi(TwilioBody):
    perception_engine_enabled: bool
    personalization_engine_enabled: bool


class SegmentCredential(TwilioBody):
    profile_api_key: Short | None = None
    space_id: Short | None = None
    write_key: Short | None = None


Responder = Literal["embedded", "openai"]


class ResponderSettings(InputModel):
    """An assistant's responder, set as a whole (the console's assistant form): a field left
    out or blank is cleared, a blank responder is the embedded one. The rule that ties the
    fields together is ``service.set_responder``."""

    responder: Responder = "embedded"
    responder_base_url: Url | None = None
    responder_model: Short | None = None
    responder_api_key_env: EnvName | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            return "embedded" if info.field_name == "responder" else None
        return value.strip() if isinstance(value, str) else value


class _AssistantFields(TwilioBody):
    owner: Short | None = Field(default=None, description="Free-form owner of the assistant.")
    personality_prompt: Prompt | None = Field(default=None, description="System prompt.")
    customer_ai: CustomerAi | None = None
    segment_credential: SegmentCredential | None = Field(
        default=None,
        description="Accepted for compatibility. thumbs has no Segment integration: only "
        "space_id is kept; the keys are not stored.",
    )
    positive_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="thumbs: a Twilio score at or above this counts as positive (default 0.5).",
    )
    responder: Responder | None = Field(
        default=None, description="thumbs: what answers in the Simulator."
    )
    responder_base_url: Url | None = Field(
        default=None, description="thumbs: base URL of an OpenAI-compatible API (…/v1)."
    )
    responder_model: Short | None = Field(
        default=None, description="thumbs: the model to ask (required for openai)."
    )
    responder_api_key_env: EnvName | None = Field(
        default=None, description="thumbs: the environment variable holding the API key."
    )


class AssistantCreate(_AssistantFields):
    name: Name = Field(description="The assistant's name.")


class AssistantUpdate(_AssistantFields):
    name: Name | None = Field(default=None, description="Leave out (or null) to keep the name.")


class CustomerAiOut(OutputModel):
    perception_engine_enabled: bool = False
    personalization_engine_enabled: bool = False


class ResponderOut(OutputModel):
    kind: str
    base_url: str | None
    model: str | None
    api_key_env: str | None


class AssistantOut(OutputModel):
    id: str = Field(pattern=r"^aia_asst_.+$")
    account_sid: str
    name: str
    owner: str
    model: str
    personality_prompt: str
    customer_ai: CustomerAiOut
    url: str
    date_created: str
    date_updated: str
    positive_threshold: float
    responder: ResponderOut


class AssistantWithToolsOut(AssistantOut):
    tools: list[dict[str, Any]] = Field(default_factory=list)
    knowledge: list[dict[str, Any]] = Field(default_factory=list)


class AssistantList(OutputModel):
    assistants: list[AssistantOut]
    meta: PageMeta
