"""Reading a WhatsApp Cloud API webhook body into the messages the assistant handles.

Anything that does not have the documented shape raises ``MalformedPayload``
(the webhook answers 400) rather than being half-read. Status callbacks
(sent/delivered/read) and change fields other than ``messages`` are counted
and ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from assistant.channels.inbound import AUDIO, CHOICE, IGNORED, TEXT, UNSUPPORTED
from assistant.core.unicode_text import lone_surrogate_at, not_unicode_message

# Not worth an answer: a reaction to a bot message, a number change notice.
_SILENT_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})


class MalformedPayload(ValueError):
    pass


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    kind: str
    phone: str | None  # the sender's number (wa_id), absent for username-only users
    user_id: str | None  # the business-scoped user id, when Meta sends one
    business_number_id: str | None  # our number that received it: replies go out from it
    text: str = ""  # the typed text, or the chosen button's id (our Rasa payload)
    media_id: str | None = None


@dataclass
class Webhook:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: int = 0
    errors: list[int] = field(default_factory=list)  # Meta error codes reported to us


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} must be a list")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where} must be a non-empty string")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    return None if value is None else _text(value, where)


def parse_webhook(raw: bytes) -> Webhook:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload("the body is not JSON") from exc
    body = _object(body, "the body")
    where = lone_surrogate_at(body)
    if where is not None:  # it would fail in the tracker store or the channel state, as a 500 Meta retries
        raise MalformedPayload(not_unicode_message(where, "the body"))
    if body.get("object") != "whatsapp_business_account":
        raise MalformedPayload("object must be 'whatsapp_business_account'")
    webhook = Webhook()
    entries = _list(body.get("entry"), "entry")
    if not entries:
        raise MalformedPayload("entry is empty")
    for entry in entries:
        for change in _list(_object(entry, "entry[]").get("changes"), "entry[].changes"):
            change = _object(change, "changes[]")
            if change.get("field") != "messages":
                continue
            _read_value(_object(change.get("value"), "changes[].value"), webhook)
    return webhook


def _read_value(value: dict[str, Any], webhook: Webhook) -> None:
    metadata = value.get("metadata")
    business_number_id = _object(metadata, "value.metadata").get("phone_number_id") if metadata is not None else None
    contacts = [_object(contact, "contacts[]") for contact in _list(value.get("contacts"), "value.contacts")]
    webhook.statuses += len(_list(value.get("statuses"), "value.statuses"))
    webhook.errors += [
        error["code"]
        for error in _list(value.get("errors"), "value.errors")
        if isinstance(error, dict) and isinstance(error.get("code"), int)
    ]
    for message in _list(value.get("messages"), "value.messages"):
        webhook.messages.append(_read_message(_object(message, "messages[]"), contacts, business_number_id))


def _user_id(message: dict[str, Any], contacts: list[dict[str, Any]], phone: str | None) -> str | None:
    if isinstance(message.get("from_user_id"), str):
        return message["from_user_id"]
    for contact in contacts:
        if isinstance(contact.get("user_id"), str) and (len(contacts) == 1 or contact.get("wa_id") == phone):
            return contact["user_id"]
    return None


def _read_message(
    message: dict[str, Any], contacts: list[dict[str, Any]], business_number_id: str | None
) -> InboundMessage:
    message_id = _text(message.get("id"), "messages[].id")
    kind = _text(message.get("type"), "messages[].type")
    phone = _optional_text(message.get("from"), "messages[].from")
    user_id = _user_id(message, contacts, phone)
    if not phone and not user_id:
        raise MalformedPayload("a message needs 'from' or 'from_user_id'")

    def inbound(kind: str, text: str = "", media_id: str | None = None) -> InboundMessage:
        return InboundMessage(message_id, kind, phone, user_id, business_number_id, text, media_id)

    if kind == "text":
        return inbound(TEXT, _text(_object(message.get("text"), "text").get("body"), "text.body"))
    if kind == "interactive":
        interactive = _object(message.get("interactive"), "interactive")
        reply = interactive.get("button_reply") or interactive.get("list_reply")
        chosen = _text(_object(reply, "interactive reply").get("id"), "interactive reply id")
        return inbound(CHOICE, chosen)
    if kind == "button":  # a quick-reply button on a template message
        button = _object(message.get("button"), "button")
        return inbound(CHOICE, _text(button.get("payload") or button.get("text"), "button.payload"))
    if kind in ("audio", "voice"):
        audio = _object(message.get(kind), kind)
        return inbound(AUDIO, media_id=_text(audio.get("id"), f"{kind}.id"))
    return inbound(IGNORED if kind in _SILENT_TYPES else UNSUPPORTED)
