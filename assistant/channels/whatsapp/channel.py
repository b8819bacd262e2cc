"""WhatsApp Business Cloud API as a Rasa input channel: ``/webhooks/whatsapp/webhook``.

- GET: Meta's verification handshake (``hub.mode``, ``hub.verify_token``,
  ``hub.challenge``).
- POST: a webhook signed with ``X-Hub-Signature-256`` (403 when the
  signature is missing or wrong, 400 when the body is not a WhatsApp
  webhook, 200 once every message in it is handled; 503 when the backend
  could not say who wrote, or a message's first delivery is still being
  answered, so that Meta delivers it again later). A message is answered once
  (``inbound``, ``once``): its ``wamid`` is claimed, and its replies are
  queued under keys made from it (``replies``), so no redelivery, on any
  Rasa server, sends them twice.

Hub notices are told first in a worker's turn, and pushed between turns
(``push``) when the channel has a number to send from.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.channels import runtime
from assistant.channels.http_errors import error_response
from assistant.channels.identities import Directory, Sender
from assistant.channels.inbound import AUDIO, Incoming, MessagingInbound
from assistant.channels.notice_delivery import NoticeDesk, announcing
from assistant.channels.once import IN_PROGRESS
from assistant.channels.voice_notes import VoiceNoteTranscriber
from assistant.channels.whatsapp.delivery import NAMESPACE, Delivery
from assistant.channels.whatsapp.graph import GraphClient, RetryPolicy
from assistant.channels.whatsapp.outbound import Recipient, template_body, text_bodies
from assistant.channels.whatsapp.payload import InboundMessage, MalformedPayload, parse_webhook
from assistant.channels.whatsapp.push import NoticePusher, PushRoute
from assistant.channels.whatsapp.replies import WhatsAppReplies
from assistant.channels.whatsapp.signature import signature_valid
from assistant.http.backend_client import BackendUnavailable

log = logging.getLogger(__name__)


class WhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        settings = runtime.settings()

        def value(key: str) -> str:
            return runtime.credential(credentials, "whatsapp", key)

        policy = RetryPolicy(
            attempts=max(1, settings.whatsapp_send_attempts), base_seconds=settings.whatsapp_retry_base_seconds
        )
        graph = GraphClient(value("graph_url"), value("api_version"), value("access_token"), policy)
        return cls(value("verify_token"), value("app_secret"), value("phone_number_id"), graph)

    def __init__(self, verify_token: str, app_secret: str, phone_number_id: str, graph: GraphClient) -> None:
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.phone_number_id = phone_number_id
        self.graph = graph
        self.state = runtime.channel_state()
        self.delivery = Delivery(graph, self.state)
        self.inbound = MessagingInbound(
            NAMESPACE, Directory(runtime.backend(), self.state), self.state, VoiceNoteTranscriber(runtime.settings())
        )
        self.desk = NoticeDesk(runtime.backend())
        self.pusher = NoticePusher(self.desk, self._push_route()) if runtime.cloud_api_pushes() else None
        if not app_secret:
            log.warning(
                "WhatsApp channel: no app secret configured (ASSISTANT_WHATSAPP_APP_SECRET); webhooks are refused"
            )

    def _push_route(self) -> PushRoute:
        settings = runtime.settings()
        template, language = settings.whatsapp_notice_template, settings.whatsapp_notice_template_language

        def template_bodies(phone: str, text: str) -> list[dict[str, Any]]:
            return [template_body(Recipient(phone=phone), template, language, text)]

        return PushRoute(
            via=NAMESPACE,
            input_channel=self.name(),
            business_number_id=self.phone_number_id,
            delivery=self.delivery,
            text_bodies=lambda phone, text: text_bodies(Recipient(phone=phone), text),
            template_bodies=template_bodies if template else None,
            shared=runtime.twilio_pushes(),
            takes_newcomers=True,
        )

    def verify(self, request: Request) -> HTTPResponse:
        mode = request.args.get("hub.mode")
        token = request.args.get("hub.verify_token") or ""
        challenge = request.args.get("hub.challenge") or ""
        if (
            mode == "subscribe"
            and self.verify_token
            and hmac.compare_digest(token.encode(), self.verify_token.encode())
        ):
            return response.text(challenge)
        return error_response(403, "forbidden", "Verification token mismatch.")

    def _incoming(self, message: InboundMessage) -> Incoming:
        fetch = None
        if message.kind == AUDIO and message.media_id:
            media_id = message.media_id

            async def fetch() -> bytes:
                return (await self.graph.media(media_id))[0]

        return Incoming(message.message_id, Sender(message.phone, message.user_id), message.kind, message.text, fetch)

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        body = request.body or b""
        if not signature_valid(self.app_secret, body, request.headers.get("X-Hub-Signature-256")):
            return error_response(403, "forbidden", "Missing or invalid X-Hub-Signature-256.")
        try:
            webhook = parse_webhook(body)
        except MalformedPayload as exc:
            return error_response(400, "bad_request", f"Not a WhatsApp webhook: {exc}.")
        if webhook.errors:
            log.warning("WhatsApp reported errors with codes %s", webhook.errors)
        turn = announcing(on_new_message, self.desk, lambda: request.app.ctx.agent, NAMESPACE)
        for message in webhook.messages:
            recipient = Recipient(message.phone, message.user_id)
            out = WhatsAppReplies(
                self.delivery,
                self.state,
                recipient,
                message.business_number_id or self.phone_number_id,
                reply_key=message.message_id,
            )
            try:
                answer = await self.inbound.handle(
                    self._incoming(message), out, turn, request.app.ctx.agent.tracker_store
                )
            except BackendUnavailable as exc:
                log.warning("WhatsApp message held for redelivery: %s", exc)
                return error_response(503, "unavailable", "The hub is unreachable; deliver this again later.")
            # A redelivery of a message answered before sends nothing: its replies went out through the
            # Graph API (or wait in the channel state's queue). One still being answered: Meta asks again later.
            if answer.outcome == IN_PROGRESS:
                return error_response(503, "in_progress", "Still answering this message; deliver it again later.")
        return response.json({"status": "ok", "messages": len(webhook.messages), "statuses": webhook.statuses})

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("whatsapp_cloud_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.app_secret)})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return self.verify(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        @webhook.listener("after_server_start")
        async def start_redelivery(app: Any, _: Any) -> None:
            app.add_task(self.delivery.keep_flushing(runtime.settings().whatsapp_redelivery_seconds))
            if self.pusher is not None:
                app.add_task(
                    self.pusher.keep_pushing(lambda: app.ctx.agent, runtime.settings().hub_notice_push_seconds)
                )

        @webhook.listener("before_server_stop")
        async def close(_: Any, __: Any) -> None:
            await self.graph.close()
            await runtime.backend().close()  # shared by every channel of this process; closing twice is harmless

        runtime.tidy_state_hourly(webhook)
        return webhook
