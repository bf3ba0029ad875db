"""Public identifiers.

* Twilio-style SIDs: two letters and 32 hex digits (``AC…`` accounts, ``SK…`` API keys,
  ``US…`` users).
* Assistants-style ids: a prefix and a UUIDv7 (``aia_fdbk_0192…``), so ids sort roughly
  by creation time and reveal nothing else.
"""

from __future__ import annotations

import os
import time
import uuid

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


def is_sid(value: str, prefix: str) -> bool:
    if len(value) != 34 or not value.startswith(prefix):
        return False
    try:
        int(value[2:], 16)
    except ValueError:
        return False
    return True
