"""Secrets at rest.

Auth Tokens and API Key secrets are 128-bit random values made by thumbs, so a SHA-256
digest is a safe one-way store for them and verifying costs microseconds (the hot path
authenticates every request). Human passwords use argon2 (see thumbs.auth.passwords)."""

from __future__ import annotations

import hashlib
import hmac
import os


def new_secret() -> str:
    return os.urandom(16).hex()


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode("utf-8")).hexdigest()


def verify_secret(secret: str, stored: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored)
