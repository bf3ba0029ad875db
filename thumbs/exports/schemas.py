from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic.alias_generators import to_camel

from thumbs.feedback.schemas import FeedbackCreate
from thumbs.kit.schemas import RequiredId
from thumbs.kit.timefmt import ISO_DATE_PATTERN

# Columns that name something of the source (its account, assistant, users) or state the
# import computes again (the verdict, the lifecycle): accepted, so that a thumbs export or a
# Twilio feedback listing imports as it is, and not imported (dropped before validation).
_IGNORED = frozenset(
    {
        "account_sid",
        "assistant_id",
        "user_sid",
        "user_identity",
        "feedback_type",
        "status",
        "channel",
        "reason",
        "question",
        "reply",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "url",
    }
)
# …under their camelCase spellings too, as the other fields are (TwilioBody)
IGNORED_COLUMNS = _IGNORED | {to_camel(name) for name in _IGNORED}
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
