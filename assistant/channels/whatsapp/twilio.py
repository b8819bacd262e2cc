"""Twilio's WhatsApp webhook as a Rasa input channel: ``/webhooks/twilio_whatsapp/webhook``.

Twilio posts form-encoded fields (``From=whatsapp:+91...``, ``Body``,
``MessageSid``, ``ButtonPayload``, ``MediaUrl0``...) and signs them with
``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's auth
token, over the URL it called followed by the sorted parameters. Rasa's own
twilio channel does not check it; this one answers 403 when it does not
match. Replies go back in the same HTTP exchange as TwiML, choices as
numbered text (Twilio's WhatsApp buttons need pre-approved templates): there
is no outbound API call for them, so nothing of a turn waits or is retried. A
voice note is fetched with the WhatsApp cap (``media``), and only from
Twilio's media hosts (``ASSISTANT_TWILIO_MEDIA_ORIGINS``): the request
carries the account's credentials.

Hub notices are told first in a worker's turn, and, when
``ASSISTANT_TWILIO_WHATSAPP_NUMBER`` names our sender, pushed between turns
through Twilio's Messages API (``whatsapp.push``, ``whatsapp.twilio_api``),
with the WhatsApp replies' waits, retries and dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request, RequestParameters
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from yarl import URL

from assistant.channels import channel_texts, runtime
from assistant.channels.http_errors import error_response
from assistant.channels.identities import Directory, Sender
from assistant.channels.inbound import AUDIO, CHOICE, TEXT, UNSUPPORTED, Incoming, MessagingInbound
from assistant.channels.media import MediaRefused, MediaUnavailable, allowed_origin, origins, read_capped
from assistant.channels.notice_delivery import NoticeDesk, announcing
from assistant.channels.numbered_choices import choices_of, numbered_text
from assistant.channels.once import IN_PROGRESS, REPLAYED
from assistant.channels.state import ChannelState, Expected
from assistant.channels.textsplit import split_text
from assistant.channels.turns import OnNewMessage
from assistant.channels.voice_notes import VoiceNoteTranscriber
from assistant.channels.whatsapp import twilio_api
from assistant.channels.whatsapp.delivery import Delivery
from assistant.channels.whatsapp.graph import RetryPolicy
from assistant.channels.whatsapp.push import NoticePusher, PushRoute
from assistant.channels.whatsapp.twilio_api import BODY_LIMIT, TwilioClient
from assistant.core.dialogue import NextInput
from assistant.core.phones import phone_digits
from assistant.http.backend_client import BackendUnavailable

log = logging.getLogger(__name__)

NAMESPACE = "twilio"
MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=30)


class TwilioReplies:
    """Keeps the turn's bot messages; they leave as TwiML in the webhook's answer."""

    def __init__(self, state: ChannelState) -> None:
        self.state = state
        self.pieces: list[str] = []

    async def deliver(self, worker_id: str | None, messages: list[dict[str, Any]]) -> None:
        numbered = self.render(messages)
        if worker_id:
            await self.state.expect(NAMESPACE, worker_id, Expected(tuple(numbered), NextInput.of(messages).mode))

    def render(self, messages: list[dict[str, Any]]) -> list[str]:
        """Add ``messages`` to the TwiML answer; the payloads of the last numbered choices among them."""
        numbered: list[str] = []
        for message in messages:
            text, choices = message.get("text") or "", choices_of(message.get("buttons"))
            # Twilio's WhatsApp buttons need approved templates: choices go as numbers.
            numbered = [choice.payload for choice in choices] or numbered
            self.pieces += split_text(numbered_text(text, choices) if choices else text, BODY_LIMIT)
        return numbered

    def twiml(self) -> str:
        reply = MessagingResponse()
        for piece in self.pieces:
            reply.message(piece)
        return str(reply)


def form_fields(request: Request) -> RequestParameters:
    """Twilio signs blank fields too (``Body=`` on a voice note); Sanic's ``request.form`` drops them."""
    return RequestParameters(parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _twiml(body: str) -> HTTPResponse:
    return response.text(body, content_type="application/xml")


def through_twilio(on_new_message: OnNewMessage, input_channel: str) -> OnNewMessage:
    """Turns that Rasa records as Twilio's (its input channel), though their metadata says "whatsapp".

    Which app the worker last wrote through decides which one pushes their
    hub notices, and from when its 24-hour window runs (``whatsapp.push``).
    """

    async def handle(message: UserMessage) -> Any:
        message.input_channel = input_channel
        return await on_new_message(message)

    return handle


class TwilioWhatsAppInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "twilio_whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TwilioWhatsAppInput:
        def value(key: str) -> str:
            return runtime.credential(credentials, "twilio", key)

        return cls(value("auth_token"), value("account_sid"), value("webhook_url"))

    def __init__(self, auth_token: str, account_sid: str, webhook_url: str, media_origins: str | None = None) -> None:
        """``media_origins``: where voice notes may be fetched from (the setting's value; ``None``: the setting)."""
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.webhook_url = webhook_url
        self.media_origins = origins(
            runtime.settings().twilio_media_origins if media_origins is None else media_origins
        )
        self.state = runtime.channel_state()
        self.inbound = MessagingInbound(
            NAMESPACE, Directory(runtime.backend(), self.state), self.state, VoiceNoteTranscriber(runtime.settings())
        )
        self.desk = NoticeDesk(runtime.backend())
        self.client: TwilioClient | None = None
        self.pusher: NoticePusher | None = None
        if runtime.twilio_pushes() and account_sid and auth_token:
            self.client, self.pusher = self._pushing(account_sid, auth_token)
        if not auth_token:
            log.warning("Twilio channel: no auth token configured (ASSISTANT_TWILIO_AUTH_TOKEN); webhooks are refused")

    def _pushing(self, account_sid: str, auth_token: str) -> tuple[TwilioClient, NoticePusher]:
        settings = runtime.settings()
        policy = RetryPolicy(
            attempts=max(1, settings.whatsapp_send_attempts), base_seconds=settings.whatsapp_retry_base_seconds
        )
        client = TwilioClient(settings.twilio_api_url, account_sid, auth_token, policy)
        content_sid = settings.twilio_notice_content_sid

        def template_bodies(phone: str, text: str) -> list[dict[str, Any]]:
            return [twilio_api.template_body(phone, content_sid, text)]

        route = PushRoute(
            via=NAMESPACE,
            input_channel=self.name(),
            business_number_id=settings.twilio_whatsapp_number,
            delivery=Delivery(client, self.state, namespace=NAMESPACE),
            text_bodies=twilio_api.text_bodies,
            template_bodies=template_bodies if content_sid else None,
            shared=runtime.cloud_api_pushes(),
            takes_newcomers=False,  # the Cloud API's, when both push
        )
        return client, NoticePusher(self.desk, route)

    def signature_valid(self, request: Request, form: RequestParameters) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if not self.auth_token or not signature:
            return False
        # Behind a proxy the URL Twilio signed is the public one, not what reached us.
        url = self.webhook_url or request.url
        return RequestValidator(self.auth_token).validate(url, form, signature)

    def _media_fetcher(self, url: str) -> Callable[[], Awaitable[bytes]]:
        auth = aiohttp.BasicAuth(self.account_sid, self.auth_token) if self.account_sid else None

        async def fetch() -> bytes:
            # Checked as aiohttp will read it. Twilio's media URL redirects to its CDN; aiohttp follows
            # and drops the credentials on a redirect to another origin, so only this host ever gets them.
            try:
                target = URL(url)
                allowed = allowed_origin(target, self.media_origins)
            except ValueError:
                allowed = False
            if not allowed:
                raise MediaRefused("the voice note's URL is not on one of Twilio's media hosts")
            try:
                async with aiohttp.ClientSession(timeout=MEDIA_TIMEOUT) as session:
                    async with session.get(target, auth=auth) as media:
                        if media.status >= 400:
                            raise MediaUnavailable.of_status(media.status, "Twilio's media host")
                        return await read_capped(media)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise MediaUnavailable(f"Twilio's media host unreachable ({exc.__class__.__name__})") from exc

        return fetch

    def incoming(self, form: Any) -> Incoming:
        sid, sender = form.get("MessageSid") or form.get("SmsMessageSid"), form.get("From") or ""
        if not sid or not sender.startswith("whatsapp:") or not phone_digits(sender):
            raise ValueError("MessageSid and From=whatsapp:+<number> are required")
        who = Sender(phone=phone_digits(sender))
        if form.get("ButtonPayload"):
            return Incoming(sid, who, CHOICE, form.get("ButtonPayload"))
        media_type, media_url = form.get("MediaContentType0") or "", form.get("MediaUrl0")
        if media_url and media_type.startswith("audio/"):
            return Incoming(sid, who, AUDIO, fetch_audio=self._media_fetcher(media_url))
        if (form.get("Body") or "").strip():
            return Incoming(sid, who, TEXT, form.get("Body"))
        return Incoming(sid, who, UNSUPPORTED)

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        form = form_fields(request)
        if not self.signature_valid(request, form):
            return error_response(403, "forbidden", "Missing or invalid X-Twilio-Signature.")
        try:
            incoming = self.incoming(form)
        except ValueError as exc:
            return error_response(400, "bad_request", f"Not a Twilio WhatsApp webhook: {exc}.")
        out = TwilioReplies(self.state)
        turn = announcing(
            through_twilio(on_new_message, self.name()), self.desk, lambda: request.app.ctx.agent, NAMESPACE
        )
        try:
            answer = await self.inbound.handle(incoming, out, turn, request.app.ctx.agent.tracker_store)
        except BackendUnavailable as exc:
            log.warning("Twilio message could not be attributed: %s", exc)
            await out.deliver(None, [{"text": channel_texts.HUB_DOWN}])
            return _twiml(out.twiml())
        if answer.outcome == IN_PROGRESS:
            out.render([{"text": channel_texts.STILL_WORKING}])
        elif answer.outcome == REPLAYED and not answer.answered:
            # Twilio asks again only when it did not get the first answer (it hung up at 15 s): this is it.
            out.render(answer.messages)
        if answer.outcome != IN_PROGRESS:
            # Reached only when this exchange was not cut off (a cut-off one is cancelled before this line):
            # a later redelivery then adds nothing.
            await self.state.answered(NAMESPACE, incoming.message_id)
        return _twiml(out.twiml())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("twilio_whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.auth_token)})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        @webhook.listener("after_server_start")
        async def start_pushing(app: Any, _: Any) -> None:
            if self.pusher is not None:
                settings = runtime.settings()
                app.add_task(self.pusher.route.delivery.keep_flushing(settings.whatsapp_redelivery_seconds))
                app.add_task(self.pusher.keep_pushing(lambda: app.ctx.agent, settings.hub_notice_push_seconds))

        @webhook.listener("before_server_stop")
        async def close(_: Any, __: Any) -> None:
            if self.client is not None:
                await self.client.close()

        runtime.tidy_state_hourly(webhook)
        return webhook
