"""The feedback lifecycle (no HTTP here).

::

    pending ──auto-approve──▶ auto_approved ──approve──▶ reviewed
       │  └──────────────approve──────────────────────▶ reviewed ──dismiss──▶ dismissed
       └──dismiss──▶ dismissed ◀──dismiss── auto_approved

A changed verdict — whichever route changes it — sends the feedback back to ``pending``
(from any status), withdraws what the old verdict produced and meets the settings again
(:func:`change_verdict`, the one rule). Every status change is a row in
``feedback_transitions``.

Every change of a feedback is one conditional update (:func:`_write`) that raises its
``version``, the feedback's ETag: status changes hold ``… WHERE status = :from`` (two
concurrent decisions cannot both win), verdict changes ``… WHERE feedback_type = :old``,
and a decision made on a version the reviewer saw (``If-Match``, the console's forms)
``… AND version = :seen``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from thumbs.auth.service import Principal
from thumbs.feedback.schemas import FeedbackUpdate, feedback_type_for
from thumbs.golden import service as golden
from thumbs.kit import errors as E
from thumbs.kit import ids
from thumbs.kit.timefmt import iso, utcnow
from thumbs.store import rollups
from thumbs.store.models import (
    Assistant,
    ConversationSession,
    Feedback,
    FeedbackSetting,
    FeedbackTransition,
    Message,
    User,
)
from thumbs.store.sql import insert_ignore

FEEDBACK_TYPES = ("positive", "negative")
STATUSES = ("pending", "auto_approved", "reviewed", "dismissed")
ACCOUNT_SCOPE = "*"
SYSTEM = "system"

# decisions an admin (or the settings) may take from each status
ALLOWED: dict[str, frozenset[str]] = {
    "pending": frozenset({"auto_approved", "reviewed", "dismissed"}),
    "auto_approved": frozenset({"reviewed", "dismissed"}),
    "reviewed": frozenset({"dismissed"}),
    "dismissed": frozenset(),
}


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveSetting:
    feedback_type: str
    auto_approve: bool
    require_reason: bool
    source: str  # assistant | account | default
    date_updated: datetime | None


# built once (building a statement costs more than running it): the account's default
# settings and those of the assistant with this pk (none when the pk is None)
_SETTINGS = select(FeedbackSetting).where(
    FeedbackSetting.account_pk == bindparam("account_pk"),
    FeedbackSetting.scope.in_(
        [
            bindparam("account_scope", ACCOUNT_SCOPE),
            select(Assistant.id).where(Assistant.pk == bindparam("assistant_pk")).scalar_subquery(),
        ]
    ),
)


def effective_settings(
    session: Session, *, account_pk: int, assistant: Assistant | None
) -> list[EffectiveSetting]:
    """Per type: the assistant's own setting, else the account default, else off."""
    assistant_pk = assistant.pk if assistant is not None else None
    return _resolve(_settings(session, account_pk, assistant_pk), own=assistant is not None)


def _settings(
    session: Session, account_pk: int, assistant_pk: int | None
) -> Sequence[FeedbackSetting]:
    return session.scalars(
        _SETTINGS, {"account_pk": account_pk, "assistant_pk": assistant_pk}
    ).all()


def _resolve(rows: Sequence[FeedbackSetting], *, own: bool) -> list[EffectiveSetting]:
    """``rows``: the account's defaults and, when ``own``, the assistant's own settings."""
    found = {(r.scope == ACCOUNT_SCOPE, r.feedback_type): r for r in rows}
    out = []
    for kind in FEEDBACK_TYPES:
        row = found.get((False, kind)) if own else None
        source = "assistant"
        if row is None:
            row, source = found.get((True, kind)), "account"
        if row is None:
            out.append(EffectiveSetting(kind, False, False, "default", None))
        else:
            out.append(
                EffectiveSetting(
                    kind, row.auto_approve, row.require_reason, source, row.date_updated
                )
            )
    return out


def setting_for(
    session: Session, *, account_pk: int, assistant_pk: int, feedback_type: str
) -> EffectiveSetting:
    for s in _resolve(_settings(session, account_pk, assistant_pk), own=True):
        if s.feedback_type == feedback_type:
            return s
    raise AssertionError(feedback_type)


def put_setting(
    session: Session,
    *,
    account_pk: int,
    assistant: Assistant | None,
    feedback_type: str,
    auto_approve: bool | None,
    require_reason: bool | None,
) -> None:
    """Set the account default (``assistant`` None) or an assistant's own setting; an
    omitted field keeps its current effective value. The first setting of a scope is
    inserted unless a concurrent request (here or in another process) inserted it first;
    then both set their fields on the one row, the later one winning."""
    scope = assistant.id if assistant is not None else ACCOUNT_SCOPE
    mine = select(FeedbackSetting).where(
        FeedbackSetting.account_pk == account_pk,
        FeedbackSetting.scope == scope,
        FeedbackSetting.feedback_type == feedback_type,
    )
    row = session.scalars(mine).one_or_none()
    if row is None:
        current = next(
            s
            for s in effective_settings(session, account_pk=account_pk, assistant=assistant)
            if s.feedback_type == feedback_type
        )
        insert_ignore(
            session,
            FeedbackSetting,
            {
                "account_pk": account_pk,
                "scope": scope,
                "assistant_pk": assistant.pk if assistant is not None else None,
                "feedback_type": feedback_type,
                "auto_approve": current.auto_approve,
                "require_reason": current.require_reason,
            },
            index_elements=["account_pk", "scope", "feedback_type"],
        )
        row = session.scalars(mine).one()
    if auto_approve is not None:
        row.auto_approve = auto_approve
    if require_reason is not None:
        row.require_reason = require_reason
    row.date_updated = utcnow()
    session.flush()


def settings_out(assistant_id: str | None, settings: Sequence[EffectiveSetting]) -> dict[str, Any]:
    return {
        "assistant_id": assistant_id,
        "settings": [
            {
                "feedback_type": s.feedback_type,
                "auto_approve": s.auto_approve,
                "require_reason": s.require_reason,
                "source": s.source,
                "date_updated": iso(s.date_updated),
            }
            for s in settings
        ],
    }


@dataclass(frozen=True, slots=True)
class ScopeSettings:
    """The effective settings of one scope: the account default or one assistant."""

    scope: str  # "" for the account default, else the assistant's id
    label: str
    by_type: dict[str, EffectiveSetting]

    def inherited(self, feedback_type: str) -> bool:
        """An assistant's type that follows the account default (it has no setting of its
        own); never the account default itself."""
        return bool(self.scope) and self.by_type[feedback_type].source != "assistant"


def settings_by_scope(
    session: Session, *, account_pk: int, assistants: Sequence[Assistant]
) -> list[ScopeSettings]:
    """The account default, then each of ``assistants`` (the console's settings table), from
    one read of the account's settings."""
    rows = session.scalars(
        select(FeedbackSetting).where(FeedbackSetting.account_pk == account_pk)
    ).all()
    by_scope: dict[str, list[FeedbackSetting]] = {}
    for r in rows:
        by_scope.setdefault(r.scope, []).append(r)
    defaults = by_scope.get(ACCOUNT_SCOPE, [])

    def one(scope: str, label: str, assistant: Assistant | None) -> ScopeSettings:
        mine = defaults + (by_scope.get(assistant.id, []) if assistant is not None else [])
        resolved = _resolve(mine, own=assistant is not None)
        return ScopeSettings(scope, label, {s.feedback_type: s for s in resolved})

    return [one("", "Account default", None)] + [one(a.id, a.name, a) for a in assistants]


def use_account_default(
    session: Session, *, account_pk: int, assistant: Assistant, feedback_type: str
) -> None:
    """The assistant follows the account default for this type again: its own setting of
    that type is removed (nothing happens when it has none)."""
    session.execute(
        delete(FeedbackSetting).where(
            FeedbackSetting.account_pk == account_pk,
            FeedbackSetting.scope == assistant.id,
            FeedbackSetting.feedback_type == feedback_type,
        )
    )
    session.flush()


def put_settings(
    session: Session,
    *,
    account_pk: int,
    assistant: Assistant | None,
    values: Mapping[str, Mapping[str, bool] | None],
) -> None:
    """Set ``auto_approve`` and ``require_reason`` of several types at once (per type, as
    :func:`put_setting`) for the account default (``assistant`` None) or one assistant. For
    an assistant, a type given ``None`` follows the account default again
    (:func:`use_account_default`)."""
    for feedback_type, flags in values.items():
        if flags is None:
            if assistant is None:
                raise E.InvalidField(
                    E.INVALID_VALUE, "scope", "Only an assistant can follow the account default"
                )
            use_account_default(
                session, account_pk=account_pk, assistant=assistant, feedback_type=feedback_type
            )
            continue
        put_setting(
            session,
            account_pk=account_pk,
            assistant=assistant,
            feedback_type=feedback_type,
            auto_approve=flags["auto_approve"],
            require_reason=flags["require_reason"],
        )


def reason_required(session: Session, *, account_pk: int, assistant: Assistant) -> dict[str, bool]:
    """Per feedback type: does this assistant's feedback need a reason?"""
    return {
        s.feedback_type: s.require_reason
        for s in effective_settings(session, account_pk=account_pk, assistant=assistant)
    }


# -- transitions -----------------------------------------------------------------------------


def actor_name(actor: Principal | None) -> str:
    if actor is None:
        return SYSTEM
    return actor.user_sid or actor.account_sid


def record(
    session: Session,
    *,
    feedback: Feedback,
    from_status: str | None,
    to_status: str,
    actor: Principal | None,
    note: str | None,
) -> FeedbackTransition:
    row = FeedbackTransition(
        id=ids.new_id(ids.DECISION),
        account_pk=feedback.account_pk,
        feedback_pk=feedback.pk,
        from_status=from_status,
        to_status=to_status,
        actor_pk=actor.user_pk if actor is not None else None,
        actor=actor_name(actor),
        note=note,
        date_created=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def changed_meanwhile(feedback: Feedback, *, to_status: str) -> E.ThumbsError:
    """Someone changed the feedback after the caller saw it (a decision, a new verdict)."""
    return E.ThumbsError(
        E.INVALID_TRANSITION,
        f"Someone changed this feedback meanwhile (it is now {feedback.status}); "
        "fetch it and decide again",
        field="version",
        details={"from": feedback.status, "to": to_status, "version": feedback.version},
    )


def _write(
    session: Session,
    *,
    feedback: Feedback,
    values: dict[str, Any],
    unless_changed: Sequence[ColumnElement[bool]],
) -> bool:
    """Write ``values`` and raise the version, if the conditions on what the caller read
    still hold: the one conditional update behind every change of a feedback. False when
    someone changed it meanwhile; otherwise the loaded object is kept in step."""
    row = session.execute(
        update(Feedback)
        .where(Feedback.pk == feedback.pk, *unless_changed)
        .values(**values, version=Feedback.version + 1)
        .returning(Feedback.version)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        return False
    rollups.updated(session, before=feedback, values=values)  # same transaction
    for key, value in {**values, "version": row.version}.items():
        set_committed_value(feedback, key, value)
    return True


def move(
    session: Session,
    *,
    feedback: Feedback,
    to_status: str,
    actor: Principal | None,
    note: str | None,
    check: bool = True,
    exact: bool = False,
) -> FeedbackTransition:
    """Change the status (a conditional update: a concurrent change of the status makes
    this a 409; with ``exact``, any change since the feedback was read) and record the
    transition."""
    from_status = feedback.status
    if check and to_status not in ALLOWED.get(from_status, frozenset()):
        raise E.ThumbsError(
            E.INVALID_TRANSITION,
            f"A {from_status} feedback cannot become {to_status}",
            field="status",
            details={"from": from_status, "to": to_status},
        )
    now = utcnow()
    values: dict[str, Any] = {"status": to_status, "date_updated": now}
    if to_status in ("reviewed", "dismissed"):
        values["reviewed_by_pk"] = actor.user_pk if actor is not None else None
        values["reviewed_at"] = now
    elif to_status == "pending":
        values["reviewed_by_pk"] = None
        values["reviewed_at"] = None
    unchanged = [Feedback.status == from_status]
    if exact:
        unchanged.append(Feedback.version == feedback.version)
    if not _write(session, feedback=feedback, values=values, unless_changed=unchanged):
        raise E.ThumbsError(
            E.INVALID_TRANSITION,
            "The feedback changed meanwhile; fetch it and decide again",
            field="status",
            details={"from": from_status, "to": to_status},
        )
    return record(
        session,
        feedback=feedback,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note=note,
    )


def auto_approve_if_set(session: Session, *, feedback: Feedback, setting: EffectiveSetting) -> None:
    """Apply the settings to a pending verdict: auto-approval, and for a positive verdict
    the golden example made of the original reply."""
    if not setting.auto_approve or feedback.status != "pending":
        return
    decision = move(
        session,
        feedback=feedback,
        to_status="auto_approved",
        actor=None,
        note=f"auto-approved by the {setting.source} setting for {setting.feedback_type}",
    )
    if feedback.feedback_type == "positive":
        golden.create_from_decision(
            session, feedback=feedback, decision=decision, corrected_response=None
        )


# -- verdicts: one rule, whichever route changes one -------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a verdict is made of: the type (None: feedback without one), the Twilio score,
    the Twilio text and the thumbs reason."""

    feedback_type: str | None
    score: float | None
    text: str | None
    reason: str | None


def verdict_of(feedback: Feedback) -> Verdict:
    return Verdict(feedback.feedback_type, feedback.score, feedback.text, feedback.reason)


def change_verdict(
    session: Session,
    *,
    feedback: Feedback,
    verdict: Verdict,
    actor: Principal | None,
    via: str,
) -> Feedback:
    """Give a feedback a new verdict, whichever route changes it (the Twilio update
    ``PUT …/Feedbacks/{fid}``, a thumbs resubmission through ``POST /v1/Thumbs``).

    The new values are written only if nobody changed the type since it was read (else
    409, code 60409; two changes that keep the type both land, the later one wins). The
    same type keeps the status and what it produced. A changed type is a new verdict: what
    the old one produced (golden examples, preference pairs) is withdrawn, the feedback
    goes back to ``pending`` from any status (a transition, so the history shows the
    change), and — the decision named *a changed verdict is judged again* in
    docs/lifecycle.md — the settings for the new type meet it as they meet a new thumbs
    verdict, auto-approval included. ``via`` names the route in the transition's note."""
    old_type = feedback.feedback_type
    values = {
        "feedback_type": verdict.feedback_type,
        "score": verdict.score,
        "text": verdict.text,
        "reason": verdict.reason,
        "date_updated": utcnow(),
    }
    unchanged = [Feedback.feedback_type == old_type]  # IS NULL for no type
    if not _write(session, feedback=feedback, values=values, unless_changed=unchanged):
        raise E.Conflict("The feedback changed meanwhile; fetch it and try again", field="version")
    new_type = verdict.feedback_type
    if new_type == old_type:
        return feedback
    golden.withdraw_for_feedback(
        session, feedback_pk=feedback.pk, reason=f"verdict changed to {new_type or 'none'}"
    )
    move(
        session,
        feedback=feedback,
        to_status="pending",
        actor=actor,
        note=f"verdict changed from {old_type or 'none'} to {new_type or 'none'} {via}",
        check=False,
    )
    if new_type is not None:
        setting = setting_for(
            session,
            account_pk=feedback.account_pk,
            assistant_pk=feedback.assistant_pk,
            feedback_type=new_type,
        )
        auto_approve_if_set(session, feedback=feedback, setting=setting)
    return feedback


def update_feedback(
    session: Session,
    *,
    feedback: Feedback,
    data: FeedbackUpdate,
    positive_threshold: float,
    actor: Principal,
) -> Feedback:
    """Twilio's update (``PUT …/Feedbacks/{fid}``): the fields given replace the stored
    ones; a new score gives the type the assistant's threshold says, whatever the channel
    the feedback came from, and the verdict changes by the one rule."""
    fields = data.model_dump(exclude_unset=True)
    current = verdict_of(feedback)
    score = fields.get("score", current.score)
    verdict = Verdict(
        feedback_type=(
            feedback_type_for(score, positive_threshold)
            if "score" in fields
            else current.feedback_type
        ),
        score=score,
        text=fields.get("text", current.text),
        reason=current.reason,
    )
    return change_verdict(
        session, feedback=feedback, verdict=verdict, actor=actor, via="through the Feedbacks API"
    )


# -- decisions ---------------------------------------------------------------------------------


def etag(feedback: Feedback) -> str:
    """The feedback's entity tag (its version): a decision may be made conditional on it."""
    return f'"{feedback.version}"'


def _decide(
    session: Session,
    *,
    feedback: Feedback,
    to_status: str,
    actor: Principal,
    note: str | None,
    seen: Collection[int] | None,
) -> FeedbackTransition:
    """A decision taken on the state the reviewer saw: ``seen`` holds the versions they
    accept (``If-Match``, the console form's version); None decides on the current state."""
    if seen is not None and feedback.version not in seen:
        raise changed_meanwhile(feedback, to_status=to_status)
    return move(
        session,
        feedback=feedback,
        to_status=to_status,
        actor=actor,
        note=note,
        exact=seen is not None,
    )


def approve(
    session: Session,
    *,
    feedback: Feedback,
    actor: Principal,
    corrected_response: str | None,
    note: str | None,
    seen: Collection[int] | None = None,
) -> FeedbackTransition:
    decision = _decide(
        session, feedback=feedback, to_status="reviewed", actor=actor, note=note, seen=seen
    )
    golden.withdraw_for_feedback(session, feedback_pk=feedback.pk, reason="superseded by a review")
    golden.create_from_decision(
        session, feedback=feedback, decision=decision, corrected_response=corrected_response
    )
    return decision


def dismiss(
    session: Session,
    *,
    feedback: Feedback,
    actor: Principal,
    note: str | None,
    seen: Collection[int] | None = None,
) -> FeedbackTransition:
    decision = _decide(
        session, feedback=feedback, to_status="dismissed", actor=actor, note=note, seen=seen
    )
    golden.withdraw_for_feedback(session, feedback_pk=feedback.pk, reason="feedback dismissed")
    return decision


# -- reads -----------------------------------------------------------------------------------


_FEEDBACK_BY_ID = select(Feedback).where(
    Feedback.id == bindparam("id"), Feedback.account_pk == bindparam("account_pk")
)


def get_feedback(session: Session, *, account_pk: int, feedback_id: str) -> Feedback:
    fb = session.scalars(
        _FEEDBACK_BY_ID, {"id": feedback_id[:64], "account_pk": account_pk}
    ).one_or_none()
    if fb is None:
        raise E.NotFound("Feedback", feedback_id[:64])
    return fb


def transitions(session: Session, *, feedback: Feedback) -> list[FeedbackTransition]:
    return list(
        session.scalars(
            select(FeedbackTransition)
            .where(FeedbackTransition.feedback_pk == feedback.pk)
            .order_by(FeedbackTransition.pk.asc())
        ).all()
    )


def transition_out(t: FeedbackTransition, *, feedback_id: str) -> dict[str, Any]:
    return {
        "id": t.id,
        "feedback_id": feedback_id,
        "from_status": t.from_status,
        "to_status": t.to_status,
        "actor": t.actor,
        "note": t.note,
        "date_created": iso(t.date_created),
    }


# -- the feedback with its lifecycle ---------------------------------------------------------


# built once (building a statement costs more than running it)
_ASSISTANT_IDS = select(Assistant.pk, Assistant.id).where(
    Assistant.pk.in_(bindparam("pks", expanding=True))
)
_USER_SIDS = select(User.pk, User.sid).where(User.pk.in_(bindparam("pks", expanding=True)))
_MESSAGE_IDS = select(Message.pk, Message.id).where(
    Message.pk.in_(bindparam("pks", expanding=True))
)


def feedbacks_out(
    session: Session, feedbacks: Sequence[Feedback], *, account_sid: str
) -> list[dict[str, Any]]:
    """The seed's feedback response plus the Twilio resource's fields."""
    assistant_pks = {f.assistant_pk for f in feedbacks}
    reviewer_pks = {f.reviewed_by_pk for f in feedbacks if f.reviewed_by_pk is not None}
    message_pks = {f.message_pk for f in feedbacks if f.message_pk is not None}
    assistants: dict[int, str] = {}
    reviewers: dict[int, str] = {}
    messages: dict[int, str] = {}
    if assistant_pks:
        assistants = dict(session.execute(_ASSISTANT_IDS, {"pks": list(assistant_pks)}).all())
    if reviewer_pks:
        reviewers = dict(session.execute(_USER_SIDS, {"pks": list(reviewer_pks)}).all())
    if message_pks:
        messages = dict(session.execute(_MESSAGE_IDS, {"pks": list(message_pks)}).all())
    out = []
    for f in feedbacks:
        reviewed_by = None
        if f.reviewed_by_pk is not None:
            reviewed_by = reviewers.get(f.reviewed_by_pk)
        elif f.reviewed_at is not None:
            reviewed_by = account_sid  # decided with the account's own credentials
        message_id = messages.get(f.message_pk) if f.message_pk is not None else f.message_id
        out.append(
            {
                "id": f.id,
                "message_id": message_id,
                "user_id": f.user_sid,
                "feedback_type": f.feedback_type,
                "reason": f.reason,
                "status": f.status,
                "reviewed_by": reviewed_by,
                "reviewed_at": iso(f.reviewed_at),
                "created_at": iso(f.date_created),
                "channel": f.channel,
                "assistant_id": assistants.get(f.assistant_pk),
                "account_sid": account_sid,
                "user_sid": f.user_sid,
                "session_id": f.session_id,
                "score": f.score,
                "text": f.text,
                "date_created": iso(f.date_created),
                "date_updated": iso(f.date_updated),
            }
        )
    return out


def feedback_out(session: Session, feedback: Feedback, *, account_sid: str) -> dict[str, Any]:
    return feedbacks_out(session, [feedback], account_sid=account_sid)[0]


_SESSION_ID = select(ConversationSession.id).where(ConversationSession.pk == bindparam("pk"))


def session_id_of(session: Session, message: Message) -> str:
    return session.scalars(_SESSION_ID, {"pk": message.session_pk}).one()
