"""Outbound HTTP to user-given URLs (OFX servers now, webhooks later), made safe.

A URL typed by a user must not let them probe our network: the host is resolved and
every address it resolves to must be public (not private, loopback, link-local,
multicast, reserved or unspecified) unless ``ALLOW_PRIVATE_OUTBOUND`` is on (tests and
local development). Requests follow no redirects and have timeouts. The connection is
made to the address that was checked, so a DNS answer that changes between the check
and the request (DNS rebinding) cannot slip a private address in.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings

from .providers.base import ProviderInputError, TransientProviderError


@dataclass(frozen=True)
class CheckedURL:
    scheme: str
    host: str
    port: int
    path: str
    address: str


# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it through a
# translator: NAT64's well-known prefix (RFC 6052) and its local-use one (RFC 8215).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# … and the older forms: IPv4-translated (::ffff:0:a.b.c.d, RFC 2765) and IPv4-compatible
# (::a.b.c.d, deprecated), which some stacks still route to the IPv4 address.
_EMBEDDING = (_NAT64, ipaddress.ip_network("::ffff:0:0:0/96"), ipaddress.ip_network("::/96"))


def _is_public(address: str) -> bool:
    """Whether the address is a public one, also when it is an IPv4 address wrapped in
    IPv6 (mapped ::ffff:a.b.c.d, translated, compatible, 6to4 2002::/16, Teredo, NAT64):
    Python calls some of those global whatever IPv4 address they carry (64:ff9b::7f00:1
    is 127.0.0.1). ``::`` and ``::1`` fall in ::/96 and read as 0.0.0.0 and 0.0.0.1:
    refused either way."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        if ip.teredo is not None:
            return all(_is_public(str(part)) for part in ip.teredo)
        embedded = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
            if any(ip in net for net in _EMBEDDING) else None)
        if embedded is not None:
            ip = embedded
    # fec0::/10, IPv6's site-local range (deprecated, yet still set up on internal
    # networks), is neither private nor reserved to Python: global.
    return ip.is_global and not ip.is_multicast and not getattr(ip, "is_site_local", False)


def check_outbound_url(url: str, *, login_field: bool = True) -> CheckedURL:
    """``login_field``: the form the URL came from has a login field of its own (a bank's
    server), which a login written into the URL belongs in."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "Invalid IPv6 URL": a "[" host never closed
        raise ProviderInputError("the URL's host is not written correctly") from None
    if parts.scheme not in ("http", "https"):
        raise ProviderInputError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ProviderInputError("the URL has no host name")
    if parts.username or parts.password:
        raise ProviderInputError(
            "put the login in the login field, not in the URL" if login_field else
            "the URL must not hold a login or password (user:password@)")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ProviderInputError("the URL's port is not a number between 1 and 65535") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno == socket.EAI_AGAIN:  # the name server failed for now: not the URL
            raise TransientProviderError(
                f"the host {parts.hostname!r} could not be looked up just now") from None
        raise ProviderInputError(f"the host {parts.hostname!r} does not resolve") from None
    except UnicodeError:
        raise ProviderInputError(f"the host {parts.hostname!r} does not resolve") from None
    addresses = [info[4][0] for info in infos]
    if not settings.ALLOW_PRIVATE_OUTBOUND:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise ProviderInputError(
                f"the host {parts.hostname!r} resolves to a private or local address "
                f"({refused[0]}); only public servers can be used"
            )
    # The request line is ASCII: a path or query written with other letters ("/café",
    # as a person types it) goes percent-encoded in UTF-8, as a browser sends it;
    # what is encoded already stays as it is.
    path = quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_URL_SAFE)
    return CheckedURL(parts.scheme, parts.hostname, port, path, addresses[0])


_URL_SAFE = "/?#[]@!$&'()*+,;=:-._~%"


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None):
    """POSTs to a checked URL; returns (status, headers, body). Redirects are not
    followed (a 3xx is returned as is). Network failures raise TransientProviderError.

    ``timeout`` bounds each network operation; ``OUTBOUND_DEADLINE_SECONDS`` the whole
    exchange: a server that sends its answer a byte at a time (each read well within the
    timeout) would otherwise hold the worker until the task's time limit."""
    target = check_outbound_url(url)
    timeout = timeout or settings.OUTBOUND_TIMEOUT_SECONDS
    deadline = settings.OUTBOUND_DEADLINE_SECONDS
    if target.scheme == "https":
        context = ssl.create_default_context()
        conn = _PinnedHTTPSConnection(target.host, target.port, target.address,
                                      timeout=timeout, context=context)
    else:
        conn = _PinnedHTTPConnection(target.host, target.port, target.address, timeout=timeout)
    expired = threading.Event()

    def expire() -> None:  # (a timer thread) ends a read waiting on the socket
        expired.set()
        if conn.sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    try:
        conn.connect()  # bounded by ``timeout``
        timer.start()
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read(settings.IMPORT_MAX_BYTES + 1)
        if expired.is_set():
            raise OSError("deadline")
        if len(data) <= settings.IMPORT_MAX_BYTES and response.length:
            # read(n) returns what came when the connection ends before Content-Length.
            raise http.client.IncompleteRead(data, response.length)
        return response.status, dict(response.getheaders()), data
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TransientProviderError(
                f"{target.host} did not answer within {deadline:g} s") from exc
        raise TransientProviderError(f"could not reach {target.host}: {exc}") from exc
    finally:
        timer.cancel()
        conn.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, **kwargs):
        super().__init__(host, port, **kwargs)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
