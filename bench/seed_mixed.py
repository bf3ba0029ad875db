"""Seed the mixed benchmark (run by bench/run.py with the server's environment): one
account, several assistants, conversations whose assistant replies end users rate, and
pending feedback for the review decisions (each decided once). Writes the data file the
wrk script reads and prints the credentials as one JSON line.

    python bench/seed_mixed.py DATA_FILE DECISIONS
"""

from __future__ import annotations

import json
import random
import sys

from thumbs.auth import service as auth
from thumbs.config import get_settings
from thumbs.conversations import service as conversations
from thumbs.feedback import service as feedback
from thumbs.feedback.schemas import FeedbackCreate
from thumbs.kit import ids
from thumbs.store import migrate
from thumbs.store.engine import Store
from thumbs.store.models import Assistant

ASSISTANTS = 4
SESSIONS_PER_ASSISTANT = 150
TURNS_PER_SESSION = 3
QUESTIONS = [
    "How do I reset my password?",
    "Where is my order?",
    "Can I change the delivery address?",
    "Why was I charged twice?",
    "How do I cancel my subscription?",
]
REPLIES = [
    "Open Settings, choose Security, then Reset password; a link is sent by email.",
    "Your order left the warehouse yesterday; the tracking link is in your confirmation email.",
    "Yes, until the parcel is handed to the carrier: open the order and choose Edit address.",
    "The second charge is a pre-authorisation; it disappears within three working days.",
    "Open Billing, choose your plan, then Cancel; you keep access until the period ends.",
]


def main() -> None:
    data_path, decisions = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(7)
    store = Store.of(get_settings())
    migrate.upgrade(store.url)
    lines: list[str] = []
    with store.session() as db:
        acc = auth.create_account(db, name="mixed-bench")
        account_pk, sid, token = acc.account.pk, acc.account.sid, acc.auth_token
        refs = []
        for a in range(ASSISTANTS):
            row = Assistant(
                id=ids.new_id(ids.ASSISTANT),
                account_pk=account_pk,
                name=f"assistant {a}",
                customer_ai={},
            )
            db.add(row)
            db.flush()
            refs.append(
                feedback.AssistantRef(
                    pk=row.pk, id=row.id, account_pk=account_pk, positive_threshold=0.5
                )
            )
            lines.append(f"A {row.id}")
        replies: list[tuple[int, str]] = []
        for a, ref in enumerate(refs):
            for s in range(SESSIONS_PER_ASSISTANT):
                for _ in range(TURNS_PER_SESSION):
                    turn = conversations.log_turn(
                        db,
                        account_pk=account_pk,
                        assistant_pk=ref.pk,
                        session_id=f"conv-{a}-{s}",
                        identity=f"customer-{a}-{s}",
                        body=rnd.choice(QUESTIONS),
                        reply=rnd.choice(REPLIES),
                    )
                    replies.append((a, turn.reply.id))
        for a, mid in replies:
            lines.append(f"M {mid} {a}")
    # pending feedback on logged replies, for the review decisions (each decided once)
    jobs = []
    for n in range(decisions):
        a, mid = replies[n % len(replies)]
        score = rnd.choice([0.0, 0.2, 0.8, 1.0])
        jobs.append(
            feedback.prepare_create(
                ref=refs[a],
                account_sid=sid,
                data=FeedbackCreate(
                    session_id=f"review-{a}-{n % 97}",
                    message_id=mid,
                    score=score,
                    text=rnd.choice(["wrong order number", "helpful", "too long", None]),
                ),
                idempotency_key=None,
            )
        )
    with store.engine.begin() as conn:
        for start in range(0, len(jobs), 2000):
            feedback.CREATE_KIND.write_many(conn, jobs[start : start + 2000])
    for job in jobs:
        lines.append(f"D {job.row['id']} {job.row['feedback_type']}")
    store.dispose()
    with open(data_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(json.dumps({"account_sid": sid, "auth_token": token}))


if __name__ == "__main__":
    main()
