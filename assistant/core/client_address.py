"""The address a request came from, for per-address limits and the audit trail.

The direct peer, unless it is a reverse proxy the deployment trusts
(``ASSISTANT_TRUSTED_PROXIES``, e.g. the TLS proxy on this machine,
``127.0.0.1``): then the last address that proxy added to
``X-Forwarded-For``. Addresses earlier in that header were written by the
client and prove nothing.
"""

from __future__ import annotations

import ipaddress

FORWARDED_FOR = "X-Forwarded-For"


def trusted_proxies(setting: str) -> frozenset[str]:
    return frozenset(part.strip() for part in setting.split(",") if part.strip())


def client_address(peer: str | None, forwarded_for: str | None, trusted: frozenset[str]) -> str:
    peer = peer or "unknown"
    if peer not in trusted or not forwarded_for:
        return peer
    last = forwarded_for.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer  # not an address: count the proxy itself


def is_loopback(address: str | None) -> bool:
    """Whether a peer address is this machine (an IPv4-mapped loopback too)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # a UNIX socket or an unknown peer: not known to be local
    return bool((getattr(ip, "ipv4_mapped", None) or ip).is_loopback)
