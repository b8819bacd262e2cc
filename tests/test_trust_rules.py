"""The small rules behind the trust boundaries, each on its own (the hostile-caller suite tries them end to end)."""

from __future__ import annotations

import asyncio
import io
import logging
from types import SimpleNamespace

import pytest

from assistant.console.login import safe_next
from assistant.core import log_safety
from assistant.core.client_address import client_address, trusted_proxies
from assistant.core.config import load_settings, reachable
from assistant.rasa_server.lan_guard import from_this_machine, phone_facing, refuse_lan_callers


@pytest.mark.parametrize(
    ("path", "facing"),
    [
        ("/webhooks/web/", True),
        ("/webhooks/web/login", True),
        ("/webhooks/whatsapp/webhook", True),
        ("/webhooks/twilio_whatsapp/webhook", True),
        ("/webhooks/rest/webhook", False),
        ("/webhooks/webx/", False),
        ("/conversations/W001/tracker", False),
        ("/model/parse", False),
        ("/", False),
    ],
)
def test_only_the_phones_routes_face_the_lan(path: str, facing: bool) -> None:
    assert phone_facing(path) is facing


@pytest.mark.parametrize(
    ("address", "local"),
    [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("::ffff:127.0.0.1", True), ("192.168.1.20", False)],
)
def test_this_machine_is_loopback_only(address: str, local: bool) -> None:
    assert from_this_machine(address) is local


def test_a_lan_caller_gets_404_off_the_phones_routes() -> None:
    def answer(path: str, ip: str) -> int | None:
        refused = asyncio.run(refuse_lan_callers(SimpleNamespace(path=path, ip=ip)))  # type: ignore[arg-type]
        return None if refused is None else refused.status

    assert answer("/webhooks/rest/webhook", "192.168.1.20") == 404
    assert answer("/conversations/W001/tracker", "10.0.0.7") == 404
    assert answer("/webhooks/web/login", "192.168.1.20") is None
    assert answer("/webhooks/rest/webhook", "127.0.0.1") is None
    assert answer("/metrics", "192.168.1.20") is None  # its own check: the metrics token (assistant.core.metrics)


def test_log_arguments_cannot_start_a_forged_line() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.log_safety")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        log_safety.install()
        log_safety.install()  # idempotent
        logger.warning("sign-in for %s", "W001\n2026-12-01 INFO login for S001\x1b[2J")
        logger.warning("%(who)s", {"who": "a\rb"})
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == [
        "sign-in for W001\\n2026-12-01 INFO login for S001\\x1b[2J",
        "a\\rb",
    ]


def test_only_a_trusted_proxy_names_the_client() -> None:
    proxies = trusted_proxies("127.0.0.1, ::1")
    assert client_address("127.0.0.1", "10.0.0.9, 192.168.1.5", proxies) == "192.168.1.5"  # the proxy's own entry
    assert client_address("192.168.1.5", "10.0.0.9", proxies) == "192.168.1.5"  # a phone cannot claim another
    assert client_address("127.0.0.1", "not-an-address", proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", "10.0.0.9", trusted_proxies("")) == "127.0.0.1"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("/flags", "/flags"),
        ("/conversations?worker=W001", "/conversations?worker=W001"),
        ("/\t/evil.example", "/conversations"),
        ("/\n/evil.example", "/conversations"),
        ("//evil.example", "/conversations"),
        ("/\\evil.example", "/conversations"),
        ("https://evil.example", "/conversations"),
        ("/ /evil.example", "/conversations"),
        ("/\u2028/evil.example", "/conversations"),
        ("", "/conversations"),
        (None, "/conversations"),
    ],
)
def test_the_console_goes_on_only_to_its_own_paths(raw: str | None, safe: str) -> None:
    assert safe_next(raw) == safe


def test_local_clients_reach_a_service_listening_on_every_address() -> None:
    assert reachable("0.0.0.0") == "127.0.0.1" and reachable("::") == "[::1]" and reachable("10.1.2.3") == "10.1.2.3"
    lan = load_settings({"ASSISTANT_HOST": "0.0.0.0"})
    assert lan.rasa_base_url.startswith("http://127.0.0.1:")
    assert (lan.backend_host, lan.console_host) == ("127.0.0.1", "127.0.0.1")
    assert lan.actions_base_url.startswith("http://127.0.0.1:")
    assert lan.host == "0.0.0.0"
