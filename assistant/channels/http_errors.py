"""HTTP answers the channels give themselves, in the backend's error shape (docs/contracts.md)."""

from __future__ import annotations

import json
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.core.unicode_text import lone_surrogate_at, not_unicode_message


def error_response(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


class Refused(Exception):
    """The request is refused: ``status`` and ``code`` for the HTTP answer, ``message`` for the person."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    @property
    def response(self) -> HTTPResponse:
        return error_response(self.status, self.code, self.message)


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, else ``Refused`` with a 400 that says what is wrong."""
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "bad_request", "The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", "The request body must be a JSON object.")
    # A lone surrogate would fail in Rasa's tracker store or the backend client, far from here, as a 500.
    where = lone_surrogate_at(body)
    if where is not None:
        raise Refused(400, "bad_request", not_unicode_message(where))
    return body
