"""A local stand-in for Meta's Graph API: the one part of the WhatsApp path that cannot run here.

A real aiohttp server on a free port (``local_server``), speaking the Graph API's protocol:

- ``POST /{version}/{phone-number-id}/messages`` records the message (after
  checking the bearer token and WhatsApp's documented limits: text 4096
  characters, at most 3 reply buttons with 20-character titles, at most 10
  list rows with 24-character titles, interactive bodies of 1024) and
  answers like Meta, with a ``wamid``;
- ``GET /{version}/{media-id}`` gives a media URL, ``GET /media/{id}`` the
  bytes (token required for both; ``/public-media/{id}`` serves them without,
  as Twilio's media URLs do);
- ``fail_next(n)`` makes the next n sends fail the way Meta does when it is
  overloaded (HTTP 5xx with a Graph error body); ``fail_for(recipient, n, ...)``
  fails the next n sends to one recipient only, with the status, Graph code
  and ``Retry-After`` given (a 400 with code 131047 is Meta's "outside the
  24-hour window": final);
- template messages (``type: template``) are checked like Meta does: a name,
  a language code, and body parameters without line breaks;
- Twilio's side too, for what the Twilio channel sends on its own:
  ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (basic auth with an account
  ``allow_twilio`` named) records a WhatsApp message, text (``Body``) or an
  approved content template (``ContentSid`` + ``ContentVariables``), and
  answers 201 with a message SID; ``fail_for`` works on its ``To`` as well.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support.local_server import LocalServer

INVALID_TOKEN = {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}


def _graph_error(status: int, code: int, message: str, retry_after: float | None = None) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "fake"}},
        status=status,
        headers={"Retry-After": f"{retry_after:g}"} if retry_after is not None else None,
    )


@dataclass
class Failures:
    """How the next sends to one recipient fail."""

    left: int
    status: int
    code: int
    retry_after: float | None


def limits_problem(body: dict[str, Any]) -> str | None:
    """Why Meta would reject this message body (error code 100), or None."""
    if body.get("messaging_product") != "whatsapp" or not (body.get("to") or body.get("recipient")):
        return "messaging_product and a recipient are required"
    kind = body.get("type")
    if kind == "template":
        return _template_problem(body.get("template") or {})
    if kind == "text":
        text = (body.get("text") or {}).get("body") or ""
        return None if 0 < len(text) <= 4096 else f"text body of {len(text)} characters"
    if kind != "interactive":
        return f"unexpected type {kind!r}"
    interactive = body["interactive"]
    text = interactive.get("body", {}).get("text") or ""
    if not 0 < len(text) <= 1024:
        return f"interactive body of {len(text)} characters"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3 or any(
            len(b["reply"]["title"]) > 20 or len(b["reply"]["id"]) > 256 for b in buttons
        ):
            return "reply buttons: 1-3, titles up to 20 characters"
        return None
    if interactive.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section.get("rows") or []]
        if not 1 <= len(rows) <= 10 or any(len(r["title"]) > 24 or len(r.get("description", "")) > 72 for r in rows):
            return "list rows: 1-10, titles up to 24 characters"
        if not action.get("button") or len(action["button"]) > 20:
            return "list button label up to 20 characters"
        return None
    return f"unexpected interactive type {interactive.get('type')!r}"


def _template_problem(template: dict[str, Any]) -> str | None:
    if not template.get("name") or not (template.get("language") or {}).get("code"):
        return "a template needs a name and a language code"
    for component in template.get("components") or []:
        for parameter in component.get("parameters") or []:
            text = parameter.get("text") or ""
            if parameter.get("type") != "text" or not 0 < len(text) <= 1024:
                return "template parameters: text of 1-1024 characters"
            if "\n" in text or "\t" in text or "     " in text:
                return "template parameters may not hold line breaks, tabs or more than 4 spaces in a row"
    return None


@dataclass
class SentMessage:
    phone_number_id: str
    body: dict[str, Any]

    @property
    def to(self) -> str:
        return str(self.body.get("to") or self.body.get("recipient"))

    @property
    def text(self) -> str:
        """What the worker reads: the text, an interactive message's body, or a template's parameters."""
        if self.body.get("type") == "text":
            return self.body["text"]["body"]
        if self.body.get("type") == "template":
            return " ".join(
                parameter["text"]
                for component in self.body["template"].get("components") or []
                for parameter in component.get("parameters") or []
            )
        return self.body["interactive"]["body"]["text"]

    @property
    def template(self) -> tuple[str, str] | None:
        """(name, language code) of a template message."""
        if self.body.get("type") != "template":
            return None
        return self.body["template"]["name"], self.body["template"]["language"]["code"]

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(title, id) of the buttons or list rows."""
        if self.body.get("type") != "interactive":
            return []
        action = self.body["interactive"]["action"]
        if "buttons" in action:
            return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
        return [(row["title"], row["id"]) for section in action["sections"] for row in section["rows"]]

    @property
    def kind(self) -> str:
        return self.body["interactive"]["type"] if self.body.get("type") == "interactive" else self.body.get("type", "")


@dataclass
class TwilioMessage:
    """A message the Twilio Messages API accepted: its form fields."""

    account_sid: str
    form: dict[str, str]

    @property
    def to(self) -> str:
        return self.form["To"]

    @property
    def text(self) -> str:
        """What the worker reads: the body, or the template's variables."""
        if "ContentSid" in self.form:
            return " ".join(str(value) for value in json.loads(self.form.get("ContentVariables") or "{}").values())
        return self.form["Body"]


def _twilio_error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "more_info": "", "status": status}, status=status)


def twilio_problem(form: dict[str, str]) -> str | None:
    """Why Twilio would refuse this WhatsApp message (error 21211 and friends), or None."""
    if not form.get("To", "").startswith("whatsapp:+") or not form.get("From", "").startswith("whatsapp:+"):
        return "To and From must be whatsapp:+<number>"
    if "ContentSid" in form:
        if not form["ContentSid"].startswith("HX"):
            return "ContentSid must be a content template's SID (HX...)"
        variables = json.loads(form.get("ContentVariables") or "{}")
        if not isinstance(variables, dict) or not all(isinstance(v, str) and v for v in variables.values()):
            return "ContentVariables must be an object of non-empty strings"
        return None
    body = form.get("Body") or ""
    return None if 0 < len(body) <= 1600 else f"Body of {len(body)} characters"


class FakeGraphApi(LocalServer):
    name = "fake Graph API"

    def __init__(self, access_token: str, port: int | None = None) -> None:
        super().__init__(port)
        self.access_token = access_token
        self.sent: list[SentMessage] = []
        self.failed_attempts = 0
        self.media_requests = 0
        self._media: dict[str, tuple[bytes, str]] = {}
        self._failures_left = 0
        self._failure_status = 503
        self._failures_for: dict[str, Failures] = {}
        self.attempts_to: dict[str, int] = {}
        self.twilio_sent: list[TwilioMessage] = []
        self._twilio_accounts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # --- control, from the test's thread ---------------------------------------

    def add_media(self, data: bytes, mime_type: str) -> str:
        media_id = f"media-{next(self._ids)}"
        with self._lock:
            self._media[media_id] = (data, mime_type)
        return media_id

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures_left, self._failure_status = count, status

    def fail_for(
        self, recipient: str, count: int, status: int = 503, code: int = 131000, retry_after: float | None = None
    ) -> None:
        with self._lock:
            self._failures_for[recipient] = Failures(count, status, code, retry_after)

    def allow_twilio(self, account_sid: str, auth_token: str) -> None:
        with self._lock:
            self._twilio_accounts[account_sid] = auth_token

    def twilio_messages_to(self, recipient: str) -> list[TwilioMessage]:
        with self._lock:
            return [message for message in self.twilio_sent if message.to == recipient]

    def messages_to(self, recipient: str) -> list[SentMessage]:
        with self._lock:
            return [message for message in self.sent if message.to == recipient]

    def wait_for(
        self,
        recipient: str,
        count: int,
        timeout: float = 90.0,
        until: Callable[[list[SentMessage]], bool] | None = None,
    ) -> list[SentMessage]:
        """The messages sent to ``recipient`` once there are at least ``count`` (and ``until`` holds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(recipient)
            if len(found) >= count and (until is None or until(found)):
                return found
            time.sleep(0.1)
        raise AssertionError(
            f"expected {count} messages to {recipient}, got: {[m.text for m in self.messages_to(recipient)]}"
        )

    # --- the server, in its own thread (``local_server``) ------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"

    async def _send(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(INVALID_TOKEN, status=401)
        body = await request.json()
        recipient = str(body.get("to") or body.get("recipient"))
        with self._lock:
            if self._failures_left > 0:
                self.attempts_to[recipient] = self.attempts_to.get(recipient, 0) + 1
                self._failures_left -= 1
                self.failed_attempts += 1
                return _graph_error(self._failure_status, 131000, "Something went wrong")
            failures = self._failing(recipient)
        if failures is not None:
            return _graph_error(failures.status, failures.code, "Refused (fake)", failures.retry_after)
        problem = limits_problem(body)
        if problem:
            return _graph_error(400, 100, f"(#100) Invalid parameter: {problem}")
        with self._lock:
            self.sent.append(SentMessage(request.match_info["number_id"], body))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": recipient}],
                "messages": [{"id": f"wamid.FAKE{next(self._ids):08d}"}],
            }
        )

    def _failing(self, recipient: str) -> Failures | None:
        """Count an attempt to ``recipient``; the failure to answer with, if it must fail (caller holds the lock)."""
        self.attempts_to[recipient] = self.attempts_to.get(recipient, 0) + 1
        failures = self._failures_for.get(recipient)
        if failures is not None and failures.left > 0:
            failures.left -= 1
            self.failed_attempts += 1
            return failures
        return None

    async def _twilio_send(self, request: web.Request) -> web.Response:
        account = request.match_info["account_sid"]
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            user = password = ""
        with self._lock:
            known = self._twilio_accounts.get(account)
        if scheme != "Basic" or user != account or known is None or password != known:
            return _twilio_error(401, 20003, "Authenticate")
        form = {key: str(value) for key, value in (await request.post()).items()}
        with self._lock:
            failures = self._failing(form.get("To", ""))
        if failures is not None:
            return _twilio_error(failures.status, failures.code, "Refused (fake)")
        problem = twilio_problem(form)
        if problem:
            return _twilio_error(400, 21211, problem)
        sid = f"SM{next(self._ids):032d}"
        with self._lock:
            self.twilio_sent.append(TwilioMessage(account, form))
        return web.json_response({"sid": sid, "status": "queued", "to": form["To"], "from": form["From"]}, status=201)

    async def _media_info(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(INVALID_TOKEN, status=401)
        media_id = request.match_info["media_id"]
        with self._lock:
            self.media_requests += 1
            found = self._media.get(media_id)
        if found is None:
            return _graph_error(404, 100, "Unsupported get request: no such media")
        data, mime_type = found
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "id": media_id,
                "url": f"{self.url}/media/{media_id}",
                "mime_type": mime_type,
                "sha256": hashlib.sha256(data).hexdigest(),
                "file_size": len(data),
            }
        )

    async def _media_bytes(self, request: web.Request) -> web.Response:
        # Graph media needs the token; /public-media/ plays a Twilio media URL (public by default).
        if request.path.startswith("/media/") and not self._authorised(request):
            return web.json_response(INVALID_TOKEN, status=401)
        found = self._media.get(request.match_info["media_id"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1].split(";")[0])

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{account_sid}/Messages.json", self._twilio_send)
        app.router.add_post("/{version}/{number_id}/messages", self._send)
        app.router.add_get("/media/{media_id}", self._media_bytes)
        app.router.add_get("/public-media/{media_id}", self._media_bytes)
        app.router.add_get("/{version}/{media_id}", self._media_info)
