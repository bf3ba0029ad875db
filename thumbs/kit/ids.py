"""Public identifiers.

* Twilio-style SIDs: two letters and 32 hex digits (``AC…`` accounts, ``SK…`` API keys,
  ``US…`` users).
* Assistants-style ids: a prefix and a UUIDv7 (``aia_fdbk_0192…``), so ids sort roughly
  by creation time and reveal nothing else; imported feedback gets a UUIDv8 derived from
  its import key instead (:func:`derived_id`).
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import datetime, timedelta

from thumbs.kit.timefmt import EPOCH

ACCOUNT = "AC"
API_KEY = "SK"
USER = "US"

ASSISTANT = "aia_asst_"
FEEDBACK = "aia_fdbk_"
MESSAGE = "aia_msg_"
SESSION = "aia_sess_"
GOLDEN = "aia_gold_"
PAIR = "aia_pref_"
DECISION = "aia_dcsn_"


def new_sid(prefix: str) -> str:
    return prefix + os.urandom(16).hex()


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


def new_id(prefix: str) -> str:
    return prefix + str(uuid7())


_MICROSECOND = timedelta(microseconds=1)


def names_digest(*names: str) -> bytes:
    """The hash :func:`derived_id` derives the id of ``names`` from (an import keys its
    rows by it too)."""
    return hashlib.sha256("\x1f".join(names).encode()).digest()


def derived_id(prefix: str, *names: str, at: datetime | None = None) -> str:
    """A stable id named by ``names``: the same names always give the same id, so that
    writing a row under it twice is detectable (imports). With ``at`` (naive UTC) it is a
    UUIDv7 of that time whose other bits come from the names' SHA-256: it sorts by time
    like the ids of new rows, and rows written in time order land next to each other in
    the index. Without ``at``, a UUIDv8 of the hash."""
    return id_of_digest(prefix, names_digest(*names), at=at)


def id_of_digest(prefix: str, digest: bytes, *, at: datetime | None = None) -> str:
    """:func:`derived_id` of the names whose :func:`names_digest` is ``digest``."""
    b = bytearray(digest[:16])
    if at is None:
        b[6] = (b[6] & 0x0F) | 0x80  # version 8
    else:
        # int(at.replace(tzinfo=UTC).timestamp() * 1000), the same float steps without
        # building an aware datetime (a third of the cost of an id, imports derive millions)
        ms = int((at - EPOCH) // _MICROSECOND / 1_000_000 * 1000)
        b[0:6] = (ms & 0xFFFF_FFFF_FFFF).to_bytes(6, "big")
        b[6] = (b[6] & 0x0F) | 0x70  # version 7
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{prefix}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_sid(value: str, prefix: str) -> bool:
    if len(value) != 34 or not value.startswith(prefix):
        return False
    try:
        int(value[2:], 16)
    except ValueError:
        return False
    return True
