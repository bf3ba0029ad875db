"""A responder backed by any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama,
vLLM, llama.cpp server, ...): ``POST {base_url}/chat/completions``.

The assistant's personality prompt is the system message; the golden examples are given as
few-shot user/assistant pairs (the most relevant one nearest the question), then the
conversation so far, then the question. Every failure becomes a ``ResponderError`` with its
own code; the whole call is bounded by a time limit, so a slow or stalled endpoint never
makes the Simulator hang.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from thumbs import __version__
from thumbs.kit import errors as E
from thumbs.responders.base import AssistantConfig, GoldenExampleLike, ResponderError, Turn

MAX_RESPONSE_BYTES = 4 * 1024 * 1024


def build_messages(
    *,
    assistant: AssistantConfig,
    history: Sequence[Turn],
    question: str,
    examples: Sequence[GoldenExampleLike],
) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    if assistant.personality_prompt.strip():
        messages.append({"role": "system", "content": assistant.personality_prompt})
    for example in reversed(examples):
        prompt = example.prompt or _last_user_turn(example.input)
        if prompt and example.output:
            messages.append({"role": "user", "content": prompt})
            messages.append({"role": "assistant", "content": example.output})
    for turn in history:
        if turn["role"] in ("user", "assistant") and turn["content"]:
            messages.append({"role": turn["role"], "content": turn["content"]})
    messages.append({"role": "user", "content": question})
    return messages


def _last_user_turn(turns: list[Any]) -> str:
    for turn in reversed(turns):
        if isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            if isinstance(content, str):
                return content
    return ""


def _upstream_message(body: bytes) -> str | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message[:300] if isinstance(message, str) else None


class OpenAICompatibleResponder:
    def __init__(
        self,
        *,
        timeout: float,
        connect_timeout: float,
        client: httpx.AsyncClient | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self._client = client
        self._environ = environ if environ is not None else os.environ

    def _request_parts(self, assistant: AssistantConfig) -> tuple[str, dict[str, str]]:
        def missing(what: str, field: str) -> ResponderError:
            return ResponderError(
                E.RESPONDER_NOT_CONFIGURED,
                f"The assistant's OpenAI-compatible responder has no {what}; "
                "set it in the console's Settings",
                assistant_id=assistant.id,
                field=field,
            )

        if not assistant.base_url:
            raise missing("base URL", "responder_base_url")
        if not assistant.model:
            raise missing("model", "responder_model")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"thumbs/{__version__}",
        }
        if assistant.api_key_env:
            key = self._environ.get(assistant.api_key_env)
            if not key:
                raise ResponderError(
                    E.RESPONDER_NOT_CONFIGURED,
                    f"The environment variable {assistant.api_key_env}, named as the "
                    "responder's API key, is not set on the thumbs server",
                    assistant_id=assistant.id,
                    field="responder_api_key_env",
                )
            headers["Authorization"] = f"Bearer {key}"
        return assistant.base_url.rstrip("/") + "/chat/completions", headers

    async def reply(
        self,
        *,
        assistant: AssistantConfig,
        history: Sequence[Turn],
        question: str,
        examples: Sequence[GoldenExampleLike],
    ) -> str:
        url, headers = self._request_parts(assistant)
        payload = orjson.dumps(
            {
                "model": assistant.model,
                "messages": build_messages(
                    assistant=assistant, history=history, question=question, examples=examples
                ),
                "stream": False,
            }
        )
        try:
            async with asyncio.timeout(self.timeout):
                status, body = await self._post(url, headers, payload)
        except (TimeoutError, httpx.TimeoutException):
            raise ResponderError(
                E.RESPONDER_TIMEOUT,
                f"The responder did not answer within {self.timeout:g} seconds",
                assistant_id=assistant.id,
                timeout_seconds=self.timeout,
            ) from None
        except httpx.ConnectError as exc:
            raise ResponderError(
                E.RESPONDER_UNREACHABLE,
                f"The responder at {assistant.base_url} could not be reached: {exc}",
                assistant_id=assistant.id,
            ) from None
        except httpx.HTTPError as exc:
            raise ResponderError(
                E.RESPONDER_UPSTREAM_ERROR,
                f"The connection to the responder failed: {type(exc).__name__}",
                assistant_id=assistant.id,
            ) from None
        return self._parse(assistant, status, body)

    async def _post(self, url: str, headers: dict[str, str], payload: bytes) -> tuple[int, bytes]:
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        if self._client is not None:
            return await self._send(self._client, url, headers, payload, timeout)
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
            return await self._send(client, url, headers, payload, timeout)

    @staticmethod
    async def _send(
        client: httpx.AsyncClient,
        url: str,
        headers: dict[str, str],
        payload: bytes,
        limits: httpx.Timeout,
    ) -> tuple[int, bytes]:
        async with client.stream(
            "POST", url, headers=headers, content=payload, timeout=limits
        ) as res:
            chunks: list[bytes] = []
            size = 0
            async for chunk in res.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    return res.status_code, b"<too large>"
                chunks.append(chunk)
            return res.status_code, b"".join(chunks)

    @staticmethod
    def _parse(assistant: AssistantConfig, status: int, body: bytes) -> str:
        if status in (401, 403):
            raise ResponderError(
                E.RESPONDER_KEY_REJECTED,
                f"The responder refused the API key (HTTP {status}); check the environment "
                f"variable {assistant.api_key_env or '(none configured)'}",
                assistant_id=assistant.id,
                upstream_status=status,
            )
        if not 200 <= status < 300:
            upstream = _upstream_message(body)
            raise ResponderError(
                E.RESPONDER_UPSTREAM_ERROR,
                f"The responder answered HTTP {status}" + (f": {upstream}" if upstream else ""),
                assistant_id=assistant.id,
                upstream_status=status,
            )
        malformed = ResponderError(
            E.RESPONDER_MALFORMED,
            "The responder's answer is not a chat-completions response",
            assistant_id=assistant.id,
        )
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise malformed from None
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise malformed from None
        if not isinstance(content, str):
            raise malformed
        return content
