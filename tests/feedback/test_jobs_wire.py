"""A create job and its result to and from a writer process
(``CreateFeedbackKind.to_wire`` and the others): what the writer process rebuilds is the
job the server made, and the end user the batch read comes back to the server's job."""

from __future__ import annotations

import pickle

from thumbs.feedback.jobs import CREATE_KIND, CreateJob, CreateResult
from thumbs.feedback.schemas import FeedbackCreate
from thumbs.feedback.service import AssistantRef, prepare_create
from thumbs.kit.cache import TTLCache

REF = AssistantRef(pk=7, id="aia_asst_" + "a" * 32, account_pk=3, positive_threshold=0.5)
SID = "AC" + "b" * 32


def make(identity: str | None, key: str | None, known: TTLCache | None = None) -> CreateJob:
    data = FeedbackCreate.model_validate(
        {"session_id": "chat-1", "message_id": "aia_msg_1", "score": 0.2, "text": "wrong"}
    )
    return prepare_create(
        ref=REF,
        account_sid=SID,
        data=data,
        idempotency_key=key,
        identity=identity,
        known_users=known,
    )


def test_a_job_crosses_whole_and_without_the_servers_cache() -> None:
    known = TTLCache(30)
    known.put((3, "alice"), (11, "US" + "c" * 32))
    for job in (make("alice", "key-1", known), make(None, None), make("bob", None, known)):
        wire = pickle.loads(pickle.dumps(CREATE_KIND.to_wire(job)))
        again = CREATE_KIND.from_wire(wire)
        assert again.row == job.row
        assert again.body == job.body
        assert again.out == job.out
        assert (again.account_pk, again.identity) == (job.account_pk, job.identity)
        assert (again.idempotency_key, again.request_hash) == (
            job.idempotency_key,
            job.request_hash,
        )
        assert again.known_users is None
        # the end user the server knew travels with the job, and only that one
        assert again.user == (known.get((3, job.identity)) if job.identity else None)
    assert CREATE_KIND.from_wire(CREATE_KIND.to_wire(make("alice", None, known))).user == (
        11,
        "US" + "c" * 32,
    )


def test_the_end_user_a_batch_read_comes_back_to_the_servers_job_and_cache() -> None:
    known = TTLCache(30)
    sent = make("carol", None, known)
    there = CREATE_KIND.from_wire(CREATE_KIND.to_wire(sent))
    there.row["user_pk"], there.row["user_sid"] = 12, "US" + "d" * 32
    there.user_read = True
    result = CreateResult(201, b'{"id": "x"}', replayed=False)
    wire = pickle.loads(pickle.dumps(CREATE_KIND.result_to_wire(there, result)))
    assert CREATE_KIND.result_from_wire(sent, wire) == result
    assert (sent.row["user_pk"], sent.row["user_sid"], sent.user_read) == (
        12,
        "US" + "d" * 32,
        True,
    )
    CREATE_KIND.committed([sent])
    assert known.get((3, "carol")) == (12, "US" + "d" * 32)
    # an answer that read no user changes nothing
    other = make("dave", None, known)
    plain = CREATE_KIND.result_to_wire(CREATE_KIND.from_wire(CREATE_KIND.to_wire(other)), result)
    CREATE_KIND.result_from_wire(other, plain)
    assert (other.row["user_pk"], other.user_read) == (None, False)
