"""WhatsApp messages sent through Twilio's Messages API, for what is pushed to a worker without a webhook to answer.

A turn's replies leave as TwiML in the webhook's answer (``assistant.channels.whatsapp.twilio``);
a hub notice has no webhook to ride on, so it is POSTed to
``/2010-04-01/Accounts/{AccountSid}/Messages.json`` (basic auth: account SID
and auth token). The bodies are ours (``text_bodies``, ``template_body``),
kept in the channel state like Graph bodies, and become Twilio's form fields
only here. Failures are ``GraphError``s with ``service = "twilio"``, so the
shared ``Delivery`` retries and gives up on them as it does on Meta's.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from assistant.channels.textsplit import split_text
from assistant.channels.whatsapp.graph import GraphError, RetryPolicy, with_retries
from assistant.core.phones import phone_digits

BODY_LIMIT = 1600  # Twilio's limit for one WhatsApp message body
TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)
# 20429: too many requests; 30001/30008: queue overflow / unknown error, both worth another try.
TRANSIENT_TWILIO_CODES = frozenset({20429, 30001, 30008})


class TwilioError(GraphError):
    service = "twilio"


def address(phone: str) -> str:
    return f"whatsapp:+{phone}"


def text_bodies(phone: str, text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "to": address(phone), "text": piece} for piece in split_text(text, BODY_LIMIT)]


def template_body(phone: str, content_sid: str, text: str) -> dict[str, Any]:
    """An approved Content API template whose one variable is the text (outside the 24-hour window)."""
    return {"type": "template", "to": address(phone), "content_sid": content_sid, "variables": {"1": text}}


def _form(sender: str, payload: dict[str, Any]) -> dict[str, str]:
    form = {"To": str(payload["to"]), "From": address(phone_digits(sender))}
    if payload.get("type") == "template":
        form["ContentSid"] = str(payload["content_sid"])
        form["ContentVariables"] = json.dumps(payload.get("variables") or {}, ensure_ascii=False)
    else:
        form["Body"] = str(payload.get("text") or "")
    return form


async def _raise_for_twilio_error(response: aiohttp.ClientResponse) -> None:
    if response.status < 400:
        return
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        body = {}
    code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
    retryable = response.status == 429 or response.status >= 500 or code in TRANSIENT_TWILIO_CODES
    # Twilio's message may quote the number: only the status and code are kept.
    raise TwilioError(f"Twilio {response.status} (code {code})", status=response.status, code=code, retryable=retryable)


class TwilioClient:
    def __init__(self, base_url: str, account_sid: str, auth_token: str, policy: RetryPolicy) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.policy = policy
        self._auth = aiohttp.BasicAuth(account_sid, auth_token)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT, auth=self._auth)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, business_number_id: str, payload: dict[str, Any], policy: RetryPolicy | None = None) -> str:
        """Send one body from our number ``business_number_id``; returns the message SID."""

        async def post() -> str:
            try:
                async with self._client().post(self.url, data=_form(business_number_id, payload)) as response:
                    await _raise_for_twilio_error(response)
                    return str((await response.json(content_type=None)).get("sid", ""))
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise TwilioError(f"Twilio unreachable ({exc.__class__.__name__})", retryable=True) from exc

        return await with_retries(post, policy or self.policy, "Twilio send")
