"""The egress policy (``ARBITER_EGRESS``) for the requests that do not go through httpx.

Connectors and connection tests send through :class:`connectors.http.EgressTransport`. Alert
channels (apprise) and the OTLP exporter send through ``requests``/urllib3, and apprise's
plugins open their own sessions: here urllib3's connection function is wrapped, once per
process, so that every connection it makes goes only to an address the policy permits,
checked on the resolved address it connects to. Plugins that speak other protocols (e-mail)
are checked before sending by :func:`host_refusal` on the channel's host.

The policy is the process's: :func:`configure` is called with the settings of each app made.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import urllib3.util.connection

from connectors.http import EgressMode, egress_refusal

_mode: EgressMode = "private"
_installed = False
_lock = threading.Lock()


class EgressRefusedError(OSError):
    """No address of the host is one the egress policy lets Arbiter reach."""


def configure(mode: EgressMode) -> None:
    global _mode, _installed
    with _lock:
        _mode = mode
        if not _installed:
            _original = urllib3.util.connection.create_connection

            def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
                host, port = address
                allowed = permitted_addresses(host.strip("[]"), port)
                error: OSError | None = None
                for ip in allowed:
                    try:
                        return _original((ip, port), *args, **kwargs)
                    except OSError as exc:
                        error = exc
                raise error or OSError(f"cannot connect to {host}")

            urllib3.util.connection.create_connection = create_connection
            _installed = True


def mode() -> EgressMode:
    return _mode


def permitted_addresses(host: str, port: int) -> list[str]:
    """The addresses of ``host`` the policy lets Arbiter connect to, in resolver order;
    raises :class:`EgressRefusedError` when there is none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    reasons = {address: egress_refusal(address, _mode) for address in addresses}
    allowed = [address for address, reason in reasons.items() if reason is None]
    if not allowed:
        address, reason = next(iter(reasons.items()), (host, "no address"))
        raise EgressRefusedError(f"{host} ({address}): {reason}")
    return allowed


def host_refusal(host: str | None, port: int | None = None) -> str | None:
    """Why the policy refuses every address of ``host``, or None. A name that does not resolve
    is not refused here (a SaaS plugin's "host" may be a token; the connection is checked)."""
    if not host:
        return None
    try:
        permitted_addresses(host.strip("[]"), port or 0)
    except EgressRefusedError as exc:
        return f"refused by the egress policy: {exc}"
    except (OSError, UnicodeError):
        return None
    return None
