"""Real webhook requests as Meta and Twilio send them: bodies, signatures, and the settings the stack runs with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests

# The channel secrets the test stack runs with (``start_stack`` overrides; they reach
# Rasa through the environment and credentials.yml, as in production).
APP_SECRET = "test-app-secret-0123456789abcdef"
ACCESS_TOKEN = "test-graph-access-token"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "109876543210"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token-0123456789"

_numbers = itertools.count(1)


def stack_settings(graph_url: str, *media_urls: str) -> dict[str, Any]:
    """The channels' settings for a stack whose Meta and Twilio are ``graph_url``, Twilio media also ``media_urls``."""
    return {
        "whatsapp_graph_url": graph_url,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_access_token": ACCESS_TOKEN,
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_phone_number_id": PHONE_NUMBER_ID,
        # Quick retries, so a failing Graph API costs the test seconds, not minutes.
        "whatsapp_send_attempts": 4,
        "whatsapp_retry_base_seconds": 0.2,
        "whatsapp_redelivery_seconds": 1,
        "twilio_auth_token": TWILIO_AUTH_TOKEN,
        # The only hosts the Twilio channel fetches voice notes from: the stand-ins', not Twilio's.
        "twilio_media_origins": ",".join((graph_url, *media_urls)),
    }


def new_phone() -> str:
    """A number in India's format (wa_id: digits, no plus) that no one else in the session uses."""
    return f"9170{int(time.time()) % 100000:05d}{next(_numbers):03d}"


def _webhook(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-TEST",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def inbound(
    phone: str | None,
    kind: str,
    content: dict[str, Any],
    message_id: str | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """A user's message; ``phone=None`` is a user who hides their number (only the business-scoped id)."""
    contact: dict[str, Any] = {"profile": {"name": "Test Worker"}}
    message: dict[str, Any] = {
        "id": message_id or f"wamid.TEST{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": kind,
        kind: content,
    }
    if phone:
        contact["wa_id"] = message["from"] = phone
    if user_id:
        contact["user_id"] = user_id
        if not phone:
            message["from_user_id"] = user_id
    return _webhook({"contacts": [contact], "messages": [message]})


def text(phone: str | None, body: str, **kwargs: Any) -> dict[str, Any]:
    return inbound(phone, "text", {"body": body}, **kwargs)


def tap(phone: str, choice_id: str, title: str, as_list: bool = False, **kwargs: Any) -> dict[str, Any]:
    if as_list:
        reply = {"type": "list_reply", "list_reply": {"id": choice_id, "title": title}}
    else:
        reply = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
    return inbound(phone, "interactive", reply, **kwargs)


def voice_note(phone: str, media_id: str, **kwargs: Any) -> dict[str, Any]:
    return inbound(phone, "audio", {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": True}, **kwargs)


def status_callback(phone: str) -> dict[str, Any]:
    return _webhook(
        {
            "statuses": [
                {
                    "id": f"wamid.OUT{uuid.uuid4().hex}",
                    "status": "delivered",
                    "timestamp": str(int(time.time())),
                    "recipient_id": phone,
                }
            ]
        }
    )


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def post_webhook(
    rasa_url: str, body: Any, *, secret: str | None = APP_SECRET, raw: bytes | None = None
) -> requests.Response:
    """POST as Meta does: the exact bytes, signed with the app secret (``secret=None``: unsigned)."""
    raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Hub-Signature-256"] = sign(raw, secret)
    return requests.post(f"{rasa_url}/webhooks/whatsapp/webhook", data=raw, headers=headers, timeout=120)


def twilio_signature(url: str, params: dict[str, str], auth_token: str = TWILIO_AUTH_TOKEN) -> str:
    """Twilio's algorithm, written out from its documentation: URL + sorted name/value pairs, HMAC-SHA1, base64."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def post_twilio(rasa_url: str, params: dict[str, str], *, signature: str | None = "valid") -> requests.Response:
    url = f"{rasa_url}/webhooks/twilio_whatsapp/webhook"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature == "valid":
        headers["X-Twilio-Signature"] = twilio_signature(url, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return requests.post(url, data=urlencode(params), headers=headers, timeout=120)
