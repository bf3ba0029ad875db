"""One error base, one body shape (Twilio's), one catalogue of stable codes.

Every error thumbs returns is a JSON object::

    {"code": 60002, "message": "...", "more_info": "<base>/errors/60002",
     "status": 400, "details": {"field": "session_id", ...}}

The body never holds both ``type`` and ``title``: the Twilio Python helper library
would then raise ``TwilioServiceException`` instead of ``TwilioRestException``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: int
    status: int
    title: str
    description: str


_CATALOGUE: dict[int, ErrorCode] = {}


def _code(code: int, status: int, title: str, description: str) -> int:
    _CATALOGUE[code] = ErrorCode(code, status, title, description)
    return code


# Twilio's own codes, for the cases Twilio defines.
AUTHENTICATION_FAILED = _code(
    20003,
    401,
    "Authentication failed",
    "The request carried no HTTP Basic credentials, or they did not match an Account SID "
    "and Auth Token, or an API Key SID and secret.",
)
METHOD_NOT_ALLOWED = _code(
    20004, 405, "Method not allowed", "The resource exists but does not accept this HTTP method."
)
NOT_FOUND = _code(
    20404,
    404,
    "Resource not found",
    "The requested resource does not exist, or it belongs to another account.",
)
INTERNAL_ERROR = _code(
    20500,
    500,
    "Internal server error",
    "An unexpected error occurred. It has been logged; the request may be retried.",
)
SERVICE_UNAVAILABLE = _code(
    20503,
    503,
    "Service unavailable",
    "The store is busy or could not be reached, or the server is shutting down or has too "
    "many writes waiting or too many open connections; nothing was changed. Retry after the "
    "seconds in Retry-After.",
)

# thumbs' own codes, one per rule.
MALFORMED_BODY = _code(
    60001,
    400,
    "Malformed request body",
    "The body is not valid JSON (or, for form bodies, not valid URL-encoded form data), "
    "or its top level is not an object.",
)
MISSING_FIELD = _code(60002, 400, "Missing required field", "A required field was not given.")
WRONG_TYPE = _code(
    60003,
    400,
    "Wrong type",
    "A field has the wrong JSON type (for example a string where a number is expected).",
)
OUT_OF_RANGE = _code(
    60004,
    400,
    "Value out of range",
    "A number is outside its allowed range (for example a score below 0 or above 1), or is "
    "not a finite number: NaN, Infinity and -Infinity are refused wherever a body holds them.",
)
TOO_LONG = _code(
    60005,
    400,
    "Value too long",
    "A string is longer than its documented limit (ids: 256 characters, text: 4,000).",
)
PATTERN_MISMATCH = _code(
    60006,
    400,
    "Value does not match the expected format",
    "A string does not match its pattern (for example a message_id not starting with aia_msg_).",
)
UNKNOWN_FIELD = _code(
    60007,
    400,
    "Unknown field",
    "The body holds a field the resource does not define. thumbs rejects unknown fields so "
    "that a misspelt field is never silently dropped.",
)
INVALID_QUERY = _code(
    60008,
    400,
    "Invalid query parameter",
    "A query parameter has the wrong type or is out of range.",
)
INVALID_PAGE_TOKEN = _code(
    60009,
    400,
    "Invalid page token",
    "PageToken was not produced by this server for this list. Use the URLs in meta.",
)
INVALID_VALUE = _code(
    60010, 400, "Invalid value", "A field's value is not one of the values it accepts."
)
EMPTY_VALUE = _code(60011, 400, "Empty value", "A required string is empty or only whitespace.")
REASON_REQUIRED = _code(
    60012,
    400,
    "Reason required",
    "The feedback settings of this assistant require a reason for this feedback type.",
)
IDENTITY_REQUIRED = _code(
    60013,
    400,
    "Identity required",
    "The operation acts for an end user: name them with the `identity` field or the "
    "X-Thumbs-Identity header.",
)
MESSAGE_NOT_RATABLE = _code(
    60014,
    400,
    "Message cannot be rated",
    "Only assistant replies (messages with role `assistant`) can receive thumbs feedback.",
)
SESSION_ASSISTANT_MISMATCH = _code(
    60015,
    400,
    "Session belongs to another assistant",
    "A session holds the conversation with one assistant; log the messages of another "
    "assistant in another session.",
)
INVALID_CHARACTER = _code(
    60016,
    400,
    "Invalid character",
    "A value holds a NUL character (U+0000), in the body, the path or a query parameter. "
    "Text is stored as it is given, and no store keeps NUL in text: remove it.",
)
FIELD_GIVEN_TWICE = _code(
    60017,
    400,
    "Field given more than once",
    "The body gives one field more than once: a key repeated in a JSON object (at any depth), "
    "a field repeated in a form body, or a field under its name and under its camelCase "
    "spelling with different values (`session_id` and `sessionId`; the same value under both "
    "spellings is accepted). thumbs does not pick one of the values: give the field once.",
)
INVALID_TRANSITION = _code(
    60410,
    409,
    "Invalid status transition",
    "The feedback's current status does not allow this decision (for example, approving "
    "a dismissed feedback), or someone changed the feedback after the state the decision "
    "was made on (If-Match, the console's forms). See the lifecycle in the docs.",
)
CONFLICT = _code(
    60409, 409, "Conflict", "The request conflicts with the current state of the resource."
)
IDEMPOTENCY_KEY_REUSED = _code(
    60422,
    422,
    "Idempotency key reused",
    "The idempotency key was already used for a different request. Use a new key for a "
    "new request; a retry must repeat the original request exactly.",
)
FORBIDDEN = _code(
    60403,
    403,
    "Forbidden",
    "The role of the request does not allow this operation: members cannot review or change "
    "settings, an end user (named by X-Thumbs-Identity) acts only for themselves and only on "
    "the end-user routes, and API keys cannot manage API keys. The access model is in "
    "docs/lifecycle.md.",
)
REQUEST_TIMEOUT = _code(
    60408,
    408,
    "Request timeout",
    "The request did not arrive in time: its line and headers within THUMBS_HEADER_TIMEOUT "
    "seconds, or its body within THUMBS_BODY_TIMEOUT seconds after the headers. The "
    "connection is closed; send the request again.",
)
BODY_TOO_LARGE = _code(
    60413,
    413,
    "Request body too large",
    "Request bodies are limited to 64 KiB (console forms: 1 MiB).",
)
UNSUPPORTED_MEDIA_TYPE = _code(
    60415,
    415,
    "Unsupported media type",
    "Send the body as application/json (application/x-www-form-urlencoded is also accepted).",
)
HEADERS_TOO_LARGE = _code(
    60431,
    431,
    "Request headers too large",
    "The request line and headers together are larger than THUMBS_MAX_HEADER_BYTES "
    "(16 KiB by default). The connection is closed.",
)

# The responder behind the Simulator (an OpenAI-compatible endpoint) failed.
RESPONDER_NOT_CONFIGURED = _code(
    61001,
    502,
    "Responder not configured",
    "The assistant's responder cannot be used as configured: an OpenAI-compatible responder "
    "needs a base URL and a model, and the environment variable named for its API key must "
    "be set on the thumbs server.",
)
RESPONDER_UNREACHABLE = _code(
    61002,
    502,
    "Responder unreachable",
    "The responder's endpoint refused the connection or could not be reached "
    "(wrong base URL, server down, DNS failure).",
)
RESPONDER_KEY_REJECTED = _code(
    61003,
    502,
    "Responder rejected the API key",
    "The responder's endpoint answered 401 or 403: the API key in the configured environment "
    "variable is missing, wrong or lacks access to the model.",
)
RESPONDER_TIMEOUT = _code(
    61004,
    504,
    "Responder timed out",
    "The responder did not answer within the time limit (THUMBS_RESPONDER_TIMEOUT seconds in "
    "all, THUMBS_RESPONDER_CONNECT_TIMEOUT to connect).",
)
RESPONDER_UPSTREAM_ERROR = _code(
    61005,
    502,
    "Responder failed",
    "The responder's endpoint answered with an error status (5xx, 429, or another 4xx such "
    "as an unknown model); details.upstream_status holds it.",
)
RESPONDER_MALFORMED = _code(
    61006,
    502,
    "Responder answered malformed data",
    "The responder's endpoint answered something that is not an OpenAI chat-completions "
    "response (not JSON, or without choices[0].message.content as a string).",
)

# The web console.
CSRF_REJECTED = _code(
    61101,
    403,
    "Form token missing or invalid",
    "A console form was posted without the per-session CSRF token, or with a wrong one. "
    "Reload the page and submit the form again.",
)


def catalogue() -> dict[int, ErrorCode]:
    return dict(_CATALOGUE)


class ThumbsError(Exception):
    """The one error base. Raise a subclass, or this with an explicit code."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = _CATALOGUE[code].status
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        if field is not None:
            self.details.setdefault("field", field)
        self.headers = headers

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is, whatever a subclass's constructor asks for (an error raised by
        a writer process reaches the server process that answers the request)."""
        return (_rebuilt, (type(self), self.args, self.__dict__))

    def body(self, docs_base: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"{docs_base}/errors/{self.code}",
            "status": self.status,
        }
        if self.details:
            out["details"] = self.details
        return out


def _rebuilt(cls: type[ThumbsError], args: tuple[Any, ...], state: dict[str, Any]) -> ThumbsError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class NotFound(ThumbsError):
    def __init__(self, what: str, ident: str, *, field: str | None = None) -> None:
        super().__init__(
            NOT_FOUND,
            f"The requested {what} {ident} was not found",
            field=field,
            details={"resource": what, "id": ident},
        )


class Unauthorized(ThumbsError):
    def __init__(self, message: str = "Authentication failed") -> None:
        super().__init__(
            AUTHENTICATION_FAILED,
            message,
            headers={"WWW-Authenticate": 'Basic realm="thumbs"'},
        )


class Forbidden(ThumbsError):
    def __init__(self, message: str) -> None:
        super().__init__(FORBIDDEN, message)


class Conflict(ThumbsError):
    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(CONFLICT, message, details=details or None)


class StoreUnavailable(ThumbsError):
    """The store is busy or cannot be reached (or the server cannot take more writes):
    503 with ``Retry-After``, the request had no effect."""

    def __init__(self, message: str = "The store is busy or unreachable; retry shortly") -> None:
        super().__init__(SERVICE_UNAVAILABLE, message, headers={"Retry-After": "1"})


class InvalidField(ThumbsError):
    """A validation failure of one field."""

    def __init__(self, code: int, field: str, message: str, **details: Any) -> None:
        super().__init__(code, message, field=field, details=details or None)
