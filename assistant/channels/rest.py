"""Rasa's REST channel (``/webhooks/rest/webhook``), for callers who prove which worker they are.

The voice loop and ``assistant chat`` talk to Rasa here. Every request
carries ``Authorization: Bearer <token>``, a backend ``worker`` token
(``assistant token create --role worker --worker W001``); the conversation's
sender is the token's worker. A body ``sender`` naming anyone else gets 403,
no token or an invalid one 401, a deactivated worker 403. Rasa's own REST
channel took ``sender`` at its word.

Message metadata is the caller's to set only where it cannot lie about
another channel: ``channel`` is ``"voice"`` or ``"rest"``, and only the keys
of docs/contracts.md are kept.

The worker's pending hub notices come first in a turn's reply (``notice_delivery``),
so the voice loop speaks them before the answer.

A client may name each message with ``message_id`` (8-64 letters, digits,
``-`` or ``_``, unique per message: a UUID). Sent again with the same id,
after a cut connection say, the message is not run again: the answer is the
first delivery's replies, waited for while its turn still runs, or past
``REDELIVERY_WAITS`` a 409 ``in_progress`` (``once``). Without one, every
request is a new turn, as Rasa's REST channel always did. Rasa's
``?stream=true`` is not offered: no caller of ours streams.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.channels import runtime
from assistant.channels.channel_texts import STILL_WORKING
from assistant.channels.http_errors import Refused, error_response, json_object
from assistant.channels.notice_delivery import AppAgent, NoticeDesk, announcing
from assistant.channels.once import IN_PROGRESS, Once
from assistant.channels.turns import OnNewMessage
from assistant.channels.worker_checks import WorkerChecks
from assistant.core.rules import CONTROL_CHARACTERS, MAX_TEXT, MESSAGE_ID

log = logging.getLogger(__name__)

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
NAMESPACE = "rest"  # the claims' (voice and REST callers alike: one worker, one conversation)
CALLER_CHANNELS = ("rest", "voice")
METADATA_KEYS = ("channel", "language", "asr_confidence", "input_mode")


def _bearer(request: Request) -> str:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Refused(401, "unauthorized", "Send 'Authorization: Bearer <worker token>' (assistant token create).")
    if not TOKEN.match(token):
        raise Refused(401, "unauthorized", "The token is not valid.")
    return token


def _body(request: Request) -> dict[str, Any]:
    body = json_object(request)
    message = body.get("message")
    if not isinstance(message, str) or len(message) > MAX_TEXT or CONTROL_CHARACTERS.search(message):
        raise Refused(400, "bad_request", f"message must be text of at most {MAX_TEXT} characters.")
    if not isinstance(body.get("metadata") or {}, dict):
        raise Refused(400, "bad_request", "metadata must be a JSON object.")
    message_id = body.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and MESSAGE_ID.match(message_id)):
        raise Refused(400, "bad_request", "message_id must be 8-64 letters, digits, '-' or '_' (a UUID, say).")
    return body


def caller_channel(message: UserMessage) -> str:
    """Which of this channel's callers heard the worker (``caller_metadata`` made sure it is one of them)."""
    channel = (message.metadata or {}).get("channel")
    return channel if channel in CALLER_CHANNELS else "rest"


def caller_metadata(raw: Any) -> dict[str, Any]:
    metadata = {key: raw[key] for key in METADATA_KEYS if isinstance(raw, dict) and key in raw}
    if metadata.get("channel") not in CALLER_CHANNELS:
        metadata["channel"] = "rest"
    return metadata


class WorkerRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self) -> None:
        self.checks = WorkerChecks(runtime.backend(), runtime.channel_state())
        self.desk = NoticeDesk(runtime.backend())
        self.agent = AppAgent()
        self.once = Once(runtime.channel_state(), NAMESPACE)

    async def _authenticate(self, request: Request) -> HTTPResponse | None:
        if request.method != "POST":
            return None  # the channel's health check
        try:
            body = _body(request)
            worker = await self.checks.token_worker(_bearer(request))
        except Refused as refused:
            return refused.response
        claimed = body.get("sender")
        if claimed not in (None, "") and str(claimed).upper() != str(worker["id"]).upper():
            return error_response(403, "forbidden", "The token belongs to another worker than 'sender'.")
        request.ctx.worker_id = worker["id"]
        request.ctx.body = body
        return None

    async def _extract_sender(self, req: Request) -> str:
        return str(req.ctx.worker_id)

    def _extract_message(self, req: Request) -> str:
        return str(req.ctx.body["message"])

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any]:
        return caller_metadata(request.ctx.body.get("metadata"))

    async def receive(self, request: Request, turn: OnNewMessage) -> HTTPResponse:
        worker_id, body = str(request.ctx.worker_id), request.ctx.body
        message_id: str | None = body.get("message_id")
        text, metadata = self._extract_message(request), self.get_metadata(request)

        async def run() -> list[dict[str, Any]]:
            collector = CollectingOutputChannel()
            turn_id = f"rest-{message_id}" if message_id else None
            await turn(
                UserMessage(
                    text, collector, worker_id, input_channel=self.name(), metadata=metadata, message_id=turn_id
                )
            )
            return collector.messages

        try:
            if message_id is None:
                return response.json(await run())
            answer = await self.once.answer(
                f"{worker_id}:{message_id}",
                tracker_store=request.app.ctx.agent.tracker_store,
                sender_id=worker_id,
                turn_id=f"rest-{message_id}",
                turn=run,
            )
        except Exception:  # as Rasa's REST channel: the failure is logged, the caller gets an empty answer
            log.exception("a REST turn of worker %s failed", worker_id)
            return response.json([])
        if answer.outcome == IN_PROGRESS:
            return error_response(409, "in_progress", STILL_WORKING)
        return response.json(answer.messages)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        turn = announcing(on_new_message, self.desk, self.agent, caller_channel)
        # Rasa's name for a custom channel's blueprint, so routes and logs read as before.
        blueprint = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        self.agent.bind(blueprint)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, turn)

        async def authenticate(request: Request) -> HTTPResponse | None:
            return await self._authenticate(request)

        # A plain function: Sanic 21.12 silently drops a bound method given as blueprint middleware.
        blueprint.middleware(authenticate, "request")
        runtime.tidy_state_hourly(blueprint)
        return blueprint
