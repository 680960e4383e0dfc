"""The shop's storefront as its customers meet it: pages over HTTP and HTTPS, and its mail server.

Three loopback listeners, on ports the system picks (published in ``/state`` under ``ports``:
``storefront``, ``storefront_tls``, ``storefront_mail``):

- pages (plain HTTP/1.1, one request a connection): ``/`` (shows "Sandbox Shop"),
  ``/product/blue-mug`` ("Add to cart"), ``/checkout`` ("Place order");
- the same pages over TLS, with a self-signed certificate made at start with ``cryptography``
  (valid 90 days; under ``cert_expiring`` one expiring in ``days``, default 5);
- an SMTP greeting (``220 mail.sandbox-shop.test ESMTP``), answering ``QUIT``.

Faults on target ``shop`` (through the control API like every other fault):
``site_down`` (every page 503, the mail server greets ``421``: the hosting died),
``checkout_500`` (the checkout page answers 500 with WordPress's critical-error page),
``slow_checkout`` (the checkout page answers after ``delay_seconds``, default 3),
``cert_expiring`` (new TLS handshakes get a certificate expiring in ``days``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.faults import FaultRegistry

TARGET = "shop"
HOST_NAME = "shop.sandbox.test"
MAIL_GREETING = b"220 mail.sandbox-shop.test ESMTP Sandbox\r\n"
NORMAL_DAYS = 90.0

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

PAGES: dict[str, tuple[str, str]] = {
    "/": ("Sandbox Shop", "<h1>Sandbox Shop</h1><p>Mugs, cups and saucers.</p>"),
    "/product/blue-mug": ("Blue mug", "<h1>Blue mug</h1><button>Add to cart</button>"),
    "/checkout": ("Checkout", "<h1>Checkout</h1><button>Place order</button>"),
}
CRITICAL_ERROR = "<p>There has been a critical error on this website.</p>"


def self_signed(days: float, host: str = HOST_NAME) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM) for ``host`` and 127.0.0.1, valid ``days`` from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_context(days: float) -> ssl.SSLContext:
    cert, key = self_signed(days)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # ssl loads certificates from files only: a private directory, removed at once.
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_path.write_bytes(cert)
        key_path.write_bytes(key)
        context.load_cert_chain(cert_path, key_path)
    return context


class Storefront:
    def __init__(self, faults: FaultRegistry, host: str = "127.0.0.1") -> None:
        self.faults = faults
        self.host = host
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []
        self._contexts: dict[float, ssl.SSLContext] = {}
        self._handling: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._contexts[NORMAL_DAYS] = server_context(NORMAL_DAYS)
        for name, handler in (
            ("storefront", self._http),
            ("storefront_tls", self._https),
            ("storefront_mail", self._mail),
        ):
            server = await asyncio.start_server(self._tracked(handler), self.host, 0)
            self._servers.append(server)
            self.ports[name] = int(server.sockets[0].getsockname()[1])

    def _tracked(self, handler: Handler) -> Handler:
        """``handler``, its task kept until it ends: stop() must not leave one sleeping (a
        slow checkout whose client gave up) behind a closed event loop."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._handling.add(task)
            try:
                await handler(reader, writer)
            finally:
                self._handling.discard(task)

        return handle

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._handling):
            task.cancel()
        await asyncio.gather(*self._handling, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()

    def context(self) -> ssl.SSLContext:
        """The certificate new handshakes get: short-lived under ``cert_expiring``."""
        fault = self.faults.active("cert_expiring", TARGET)
        days = float(fault.param("days")) if fault is not None else NORMAL_DAYS
        if days not in self._contexts:
            self._contexts[days] = server_context(days)
        return self._contexts[days]

    async def _https(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(self.context())
        except (OSError, ssl.SSLError):
            writer.close()
            return
        await self._http(reader, writer)

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            parts = request.split(b" ", 2)
            path = parts[1].decode("ascii", "replace").split("?")[0] if len(parts) > 1 else "/"
            status, body = await self.page(path)
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                "Content-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError):
            pass  # the client went away (a certificate check closes after the handshake)
        finally:
            writer.close()

    async def page(self, path: str) -> tuple[int, bytes]:
        """The status and body of ``path`` under the faults in force."""
        if self.faults.strikes("site_down", TARGET) is not None:
            return 503, b"<h1>Service Unavailable</h1>"
        found = PAGES.get(path)
        if found is None:
            return 404, b"<h1>Not found</h1>"
        title, content = found
        if path == "/checkout":
            if self.faults.strikes("checkout_500", TARGET) is not None:
                return 500, _html("Error", CRITICAL_ERROR)
            slow = self.faults.strikes("slow_checkout", TARGET)
            if slow is not None:
                await asyncio.sleep(float(slow.param("delay_seconds")))
        return 200, _html(title, content)

    async def _mail(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.faults.strikes("site_down", TARGET) is not None:
                writer.write(b"421 mail.sandbox-shop.test Service not available\r\n")
                await writer.drain()
                return
            writer.write(MAIL_GREETING)
            await writer.drain()
            while line := await asyncio.wait_for(reader.readline(), 30.0):
                if line.strip().upper() == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    return
                writer.write(b"502 Command not implemented\r\n")
                await writer.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()


_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}


def _html(title: str, content: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | '
        f"Sandbox Shop</title></head><body>{content}</body></html>"
    ).encode()
