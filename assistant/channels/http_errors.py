"""HTTP answers the channels give themselves, in the backend's error shape (docs/contracts.md)."""

from __future__ import annotations

from sanic import response
from sanic.response import HTTPResponse


def error_response(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)
