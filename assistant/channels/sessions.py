"""Web chat sessions: signed, expiring tokens that name the worker.

The page holds the token and sends it with every message; the channel takes
the sender id from the verified token, never from anything the page says.
HS256 JWTs (PyJWT, which Rasa already ships) with an expiry and a session id,
so that logout can end one session before it expires.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import jwt

from assistant.db.models import utcnow

ISSUER = "field-assistant"
AUDIENCE = "web-chat"
MIN_SECRET_LENGTH = 32


class InvalidSession(Exception):
    pass


@dataclass(frozen=True)
class WebSession:
    worker_id: str
    worker_name: str
    session_id: str
    expires_at: dt.datetime


class SessionSigner:
    def __init__(self, secret: str, lifetime: dt.timedelta) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the web session secret must be at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret
        self.lifetime = lifetime

    def issue(self, worker: dict[str, Any]) -> tuple[str, WebSession]:
        now = utcnow().replace(microsecond=0)
        session = WebSession(worker["id"], worker.get("name", ""), secrets.token_urlsafe(16), now + self.lifetime)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": session.worker_id,
            "name": session.worker_name,
            "sid": session.session_id,
            "iat": now,
            "exp": session.expires_at,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256"), session

    def verify(self, token: str) -> WebSession:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "sid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidSession("Your session has ended; please sign in again.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidSession("Not signed in.") from exc
        expires = dt.datetime.fromtimestamp(int(claims["exp"]), dt.timezone.utc)
        return WebSession(str(claims["sub"]), str(claims.get("name", "")), str(claims["sid"]), expires)
