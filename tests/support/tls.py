"""One default SSL context for every httpx client the tests make.

httpx builds an SSL context for each client it makes (``ssl.create_default_context`` loading
certifi's CA bundle: 15-50 ms of CPU), even for a client that only ever speaks plain HTTP to
a loopback server, as every client of this suite does. The suite makes thousands of them
(each ``httpx.get``/``httpx.post`` makes one too), so the default context is made once and
shared: it is made exactly as httpx makes it and never changed afterwards (an SSLContext may
be shared between clients and threads). Any other ``verify``/``cert`` goes to httpx as is."""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

from httpx._transports import default as transports


def share_the_default_ssl_context() -> None:
    make = transports.create_ssl_context
    if getattr(make, "shared", False):
        return

    @cache
    def default_context(trust_env: bool) -> ssl.SSLContext:
        return make(verify=True, cert=None, trust_env=trust_env)

    def create_ssl_context(
        verify: Any = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None:
            return default_context(trust_env)
        return make(verify=verify, cert=cert, trust_env=trust_env)

    create_ssl_context.shared = True  # type: ignore[attr-defined]
    transports.create_ssl_context = create_ssl_context
