from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, SkipValidation, StringConstraints

from thumbs.feedback.schemas import FeedbackCreate
from thumbs.kit.schemas import RequiredId
from thumbs.kit.timefmt import ISO_DATE_PATTERN

# A column that names something of the source (its account, assistant, users) or state the
# import recomputes (the verdict, the lifecycle): accepted, so that a thumbs export or a
# Twilio feedback listing imports as it is, and not imported.
Ignored = Annotated[SkipValidation[Any], Field(default=None, exclude=True)]
# An ISO 8601 date, read into a datetime by the importer (thumbs.kit.timefmt.from_iso)
IsoDate = Annotated[str, StringConstraints(pattern=f"^{ISO_DATE_PATTERN}$", max_length=64)]


class FeedbackImport(FeedbackCreate):
    """One row of a feedback import: the API's create fields, validated by the API's rules,
    plus the row's stable key and its original dates."""

    id: RequiredId | None = Field(
        default=None,
        description="The row's id in the source: its stable key (a re-run skips it). "
        "Without it, the key is the row's content.",
    )
    date_created: IsoDate | None = Field(
        default=None, description="ISO 8601; when the feedback was given (default: now)."
    )
    date_updated: IsoDate | None = Field(
        default=None, description="ISO 8601; default: date_created."
    )
    account_sid: Ignored
    assistant_id: Ignored
    user_sid: Ignored
    user_identity: Ignored
    feedback_type: Ignored
    status: Ignored
    channel: Ignored
    reason: Ignored
    question: Ignored
    reply: Ignored
    reviewed_by: Ignored
    reviewed_at: Ignored
    review_note: Ignored
    url: Ignored
