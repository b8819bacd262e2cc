"""The clinic-phone web chat as a Rasa input channel, under ``/webhooks/web/``.

- ``GET /``: the page (``GET /app.js`` its script, ``GET /health`` a ping).
- ``POST /login`` ``{"worker_id", "pin"}``: the backend checks the PIN (and
  locks the worker out after repeated failures); the answer is a signed,
  expiring session token. One address (a phone) gets at most
  ``ADDRESS_MAX_FAILURES`` failed sign-ins per lockout window, whichever
  workers it tries.
- ``POST /webhook`` ``{"message", "message_id"}`` with ``Authorization:
  Bearer <token>``: one user turn. The sender id is the token's worker, never
  something the page says. ``message_id`` (the page's, unique per message)
  makes a resend after a lost answer return the first answer instead of
  being processed twice (``once``); a resend while the first is still being
  answered waits for it, and past ``REDELIVERY_WAITS`` gets 409 ``in_progress``.
- ``GET /history``: the conversation so far, for a reloaded page.
- ``GET /updates``: the worker's hub notices, whichever channel the consult
  was asked on, told in the conversation now (``notice_delivery``); the open page asks every few
  seconds, so news reaches it without a message or a reload. A turn's reply
  starts with any notice still pending.
- ``POST /logout``: ends the session for good, before its expiry.

A session is re-checked against the backend (``WorkerChecks``): a worker
deactivated after signing in is refused within 30 seconds.

Errors use the backend's shape: ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.channels import runtime
from assistant.channels.channel_texts import STILL_WORKING
from assistant.channels.http_errors import Refused, json_object
from assistant.channels.identities import CHAT_ROLE
from assistant.channels.metadata import user_metadata
from assistant.channels.notice_delivery import NoticeDesk, announcing
from assistant.channels.once import IN_PROGRESS, REPLAYED, Once
from assistant.channels.sessions import InvalidSession, SessionSigner, WebSession
from assistant.channels.turns import run_turn
from assistant.channels.webchat.assets import load_assets
from assistant.channels.webchat.history import transcript
from assistant.channels.worker_checks import WorkerChecks
from assistant.core.client_address import FORWARDED_FOR, client_address, trusted_proxies
from assistant.core.rules import LOCKOUT, MAX_TEXT, MESSAGE_ID, PIN_INPUT_LIMIT, WORKER_ID
from assistant.http.backend_client import BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

NAMESPACE = "web"
MAX_MESSAGE = MAX_TEXT  # as on the REST channel: no longer than a record's text may be
# The backend's answers about the worker's own sign-in; any other refusal is the server's problem.
WORKER_FACING_REFUSALS = ("invalid_credentials", "locked", "validation_error")


def _field(body: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None, limit: int = MAX_MESSAGE) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, "bad_request", f"{name} is required.")
    value = value.strip()
    if len(value) > limit or (pattern is not None and not pattern.match(value)):
        raise Refused(400, "bad_request", f"{name} is not valid.")
    return value


class WebChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "web"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        secret = runtime.credential(credentials, "web", "session_secret")
        hours = float(runtime.credential(credentials, "web", "session_hours"))
        try:
            signer: SessionSigner | None = SessionSigner(secret, dt.timedelta(hours=hours))
        except ValueError as exc:
            log.warning("web chat sign-in disabled: %s (ASSISTANT_WEB_SESSION_SECRET)", exc)
            signer = None
        return cls(signer)

    def __init__(self, signer: SessionSigner | None) -> None:
        self.signer = signer
        self.state = runtime.channel_state()
        self.backend = runtime.backend()
        self.checks = WorkerChecks(self.backend, self.state)
        self.desk = NoticeDesk(self.backend)
        self.once = Once(self.state, NAMESPACE)
        self.trusted_proxies = trusted_proxies(runtime.settings().trusted_proxies)
        self.assets = load_assets()

    # --- sessions -------------------------------------------------------------

    def _signer(self) -> SessionSigner:
        if self.signer is None:
            raise Refused(503, "not_configured", "Web chat sign-in is not configured on this server.")
        return self.signer

    async def _session(self, request: Request) -> WebSession:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Refused(401, "unauthorized", "Not signed in.")
        try:
            session = self._signer().verify(token.strip())
        except InvalidSession as exc:
            raise Refused(401, "unauthorized", str(exc)) from None
        if await self.state.session_ended(session.session_id):
            raise Refused(401, "unauthorized", "You signed out; please sign in again.")
        if not await self.checks.still_active(session.worker_id):
            raise Refused(403, "inactive_worker", "Your account has been deactivated. Please ask your supervisor.")
        return session

    async def login(self, request: Request) -> HTTPResponse:
        signer = self._signer()
        body = json_object(request)
        worker_id = _field(body, "worker_id", WORKER_ID).upper()
        pin = _field(body, "pin", limit=PIN_INPUT_LIMIT)
        address = client_address(request.ip, request.headers.get(FORWARDED_FOR), self.trusted_proxies)
        claim = await self.state.claim_sign_in(address)
        if claim is None:
            minutes = round(LOCKOUT.total_seconds() / 60)  # the address's failures count this long
            raise Refused(
                429, "too_many_attempts", f"Too many wrong sign-ins from this phone. Please wait {minutes} minutes."
            )
        try:
            worker = await self.backend.pin_login(worker_id, pin)
        except BackendRejected as exc:
            if exc.error.get("code") in WORKER_FACING_REFUSALS:
                return response.json({"error": exc.error}, status=exc.status)
            await self.state.sign_in_settled(claim)
            log.error("the backend refused the channel's PIN check (%s): is ASSISTANT_SERVICE_TOKEN valid?", exc.status)
            raise Refused(
                503, "unavailable", "Sign-in is not working on this server; please tell your supervisor."
            ) from None
        except BackendUnavailable as exc:
            log.warning("web sign-in impossible: %s", exc)
            await self.state.sign_in_settled(claim)  # not the caller's failure
            raise Refused(
                503, "unavailable", "The hub cannot check your PIN right now. Please try again in a minute."
            ) from None
        await self.state.sign_in_settled(claim)
        if worker.get("role") != CHAT_ROLE:
            raise Refused(403, "forbidden", "This chat is for field health workers.")
        token, session = signer.issue(worker)
        return response.json(
            {
                "token": token,
                "worker": {"id": session.worker_id, "name": session.worker_name},
                "expires_at": session.expires_at.isoformat(),
            }
        )

    async def logout(self, request: Request) -> HTTPResponse:
        session = await self._session(request)
        await self.state.end_session(session.session_id, session.expires_at)
        return response.json({"status": "signed out"})

    # --- conversation -----------------------------------------------------------

    async def message(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        session = await self._session(request)
        body = json_object(request)
        text = _field(body, "message")
        message_id = _field(body, "message_id", MESSAGE_ID)
        turn = announcing(on_new_message, self.desk, lambda: request.app.ctx.agent, NAMESPACE)

        async def run() -> list[dict[str, Any]]:
            return await run_turn(
                turn,
                channel=NAMESPACE,
                worker_id=session.worker_id,
                text=text,
                metadata=user_metadata(NAMESPACE, text),
                message_id=f"web-{message_id}",
            )

        answer = await self.once.answer(
            f"{session.worker_id}:{message_id}",
            tracker_store=request.app.ctx.agent.tracker_store,
            sender_id=session.worker_id,
            turn_id=f"web-{message_id}",
            turn=run,
        )
        if answer.outcome == IN_PROGRESS:  # the page shows this and sends the message again later
            raise Refused(409, "in_progress", STILL_WORKING)
        if answer.outcome == REPLAYED:
            return response.json({"messages": answer.messages, "replayed": True})
        return response.json({"messages": answer.messages})

    async def history(self, request: Request) -> HTTPResponse:
        session = await self._session(request)
        # All sessions: one ends between flows (assistant.rasa_server.flow_sessions), and the page shows
        # the worker's last messages across them.
        tracker = await request.app.ctx.agent.tracker_store.retrieve_full_tracker(session.worker_id)
        return response.json(
            {
                "worker": {"id": session.worker_id, "name": session.worker_name},
                "messages": transcript(tracker) if tracker is not None else [],
            }
        )

    async def updates(self, request: Request) -> HTTPResponse:
        """What to add to the open page: the notices told now, and any told before but not yet marked."""
        session = await self._session(request)
        # Every channel's: the open page is where the worker is looking. A notice is told once whichever
        # channel tells it first (the conversation holds it: ``notice_delivery``).
        notices = await self.desk.pending(worker_id=session.worker_id)
        if not notices:
            return response.json({"messages": []})
        told = await self.desk.tell(request.app.ctx.agent, session.worker_id, notices, NAMESPACE)
        # Those told before too: the page draws each notice once, so a lost answer costs nothing.
        return response.json({"messages": told.all})

    # --- routes -------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        web = Blueprint("web_chat", __name__)

        def guarded(
            handler: Callable[[Request], Awaitable[HTTPResponse]],
        ) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
            async def run(request: Request) -> HTTPResponse:
                try:
                    return await handler(request)
                except Refused as exc:
                    return exc.response

            return run

        @web.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):
                # The page's URLs are relative to the directory.
                return response.redirect(request.path + "/", status=301)
            return self.assets.page.serve(request)

        @web.route("/app.js", methods=["GET"])
        async def script(request: Request) -> HTTPResponse:
            return self.assets.script.serve(request)

        @web.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "sign_in": self.signer is not None})

        web.add_route(guarded(self.login), "/login", methods=["POST"], name="login")
        web.add_route(guarded(self.logout), "/logout", methods=["POST"], name="logout")
        web.add_route(guarded(self.history), "/history", methods=["GET"], name="history")
        web.add_route(guarded(self.updates), "/updates", methods=["GET"], name="updates")
        web.add_route(
            guarded(lambda request: self.message(request, on_new_message)), "/webhook", methods=["POST"], name="webhook"
        )
        runtime.tidy_state_hourly(web)
        return web
