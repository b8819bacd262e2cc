"""One error shape for every failure: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from assistant.backend.app_state import MAX_BODY_BYTES
from assistant.core.rules import CONTROL_CHARACTERS
from assistant.core.unicode_text import LONE_SURROGATE, not_unicode_message
from assistant.domain.hub_operations import HubError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Headers whose values reach the database or the logs.
CHECKED_HEADERS = ("X-On-Behalf-Of", "Idempotency-Key")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "bad_request", message, **details)


def invalid(field: str, message: str, **details: Any) -> ApiError:
    return ApiError(422, "validation_error", message, field=field, **details)


def unknown_value(field: str, value: Any, allowed: Iterable[str]) -> ApiError:
    allowed = list(allowed)
    return ApiError(
        422,
        "unknown_value",
        f"Unknown {field} {value!r}. Valid values: {', '.join(allowed)}.",
        field=field,
        allowed=allowed,
    )


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


def hub_refusal(exc: HubError) -> ApiError:
    """A hub operation's refusal (``assistant.domain.hub_operations``, shared with the console) as the API says it."""
    if exc.kind == "invalid":
        return ApiError(422, "validation_error", exc.message, **({"field": exc.field} if exc.field else {}))
    if exc.kind == "not_found":
        return ApiError(404, "not_found", exc.message)
    if exc.kind == "forbidden":
        return ApiError(403, "forbidden", exc.message)
    return conflict(exc.message)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def plain_text_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No control character (NUL above all) in the path, the query or the headers we read reaches a handler.

    PostgreSQL refuses NUL in text, and a log line or a screen must not be
    steered by them; bodies are checked field by field (``validation``).
    Nor does a lone surrogate, which is how aiohttp hands over a header's
    bytes that are not UTF-8, and which no database or log can write.
    """
    said = [request.path, *request.query.keys(), *request.query.values()]
    said += [request.headers.get(name, "") for name in CHECKED_HEADERS]
    if any(CONTROL_CHARACTERS.search(value) for value in said):
        return _error_response(400, "Control characters are not allowed in the path, query or headers.")
    if any(LONE_SURROGATE.search(value) for value in said):
        return _error_response(400, not_unicode_message("", "The path, query or a header"))
    return await handler(request)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except HubError as exc:  # raised inside the operation, so its transaction has been rolled back
        refusal = hub_refusal(exc)
        return web.json_response(refusal.body(), status=refusal.status)
    except web.HTTPRequestEntityTooLarge:
        return _error_response(413, f"Request body too large; the limit is {request.app[MAX_BODY_BYTES]} bytes.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error_response(exc.status, exc.reason)
    except Exception:
        # The request path and body may carry patient data: log the route only.
        resource = request.match_info.route.resource
        log.exception("unhandled error on %s %s", request.method, resource.canonical if resource else "?")
        return _error_response(500, "Internal error; the request was not completed.")


def _error_response(status: int, message: str) -> web.Response:
    code = _HTTP_CODES.get(status, "internal" if status >= 500 else "error")
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
