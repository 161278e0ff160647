"""Where webhooks may go: public addresses only, unless the instance's allow-list admits an internal receiver.

An operator types a webhook URL; the notification service then POSTs to it from inside the
instance's network. Without these rules that URL could name the broker's management API, the
database or a cloud metadata service (SSRF). Two checks, both here and both pure apart from DNS:

- `check_url` when the URL is configured (and again before each send): http(s) only, no
  `user:pass@`, and a host that is not internal in any spelling, whether as an address (dotted,
  decimal `2130706433`, short `127.1`, octal, hex, IPv6, IPv4-mapped IPv6) or as a name
  (`localhost`, `*.local`, `*.internal`…).
- `resolve_public` when sending: the name is resolved, every address it gives must be public, and
  the caller connects to those very addresses, so a name that resolves differently a second time
  (DNS rebinding) cannot lead the request elsewhere.

`DOITHOAI_WEBHOOK_ALLOWED_NETWORKS` (an `AllowList`) admits internal receivers on purpose: a
network admits its addresses, a host name admits that name whatever it resolves to.
"""

from __future__ import annotations

import asyncio
import re
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import unquote, urlsplit

IPAddress = IPv4Address | IPv6Address

ALLOW_SETTING = "DOITHOAI_WEBHOOK_ALLOWED_NETWORKS"

# Names that never leave the local network (RFC 6761, RFC 6762, RFC 8375, common private zones).
INTERNAL_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")

_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


@dataclass(frozen=True)
class Refusal:
    """Why a destination is refused, in words an operator can act on."""

    message_vi: str
    message_en: str

    def __str__(self) -> str:
        return self.message_en


class DestinationRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message_en)
        self.refusal = refusal


def _name(host: str) -> str:
    """A host as the resolver would read it: unquoted, compatibility forms folded (full-width digits and
    dots are what IDNA makes of them too), no brackets, no final dot, lower case."""
    text = unicodedata.normalize("NFKC", unquote(host)).replace("\u3002", ".")
    return text.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AllowList:
    """Internal receivers an administrator admitted: networks (CIDR) and exact host names."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        networks: list[IPv4Network | IPv6Network] = []
        hosts: set[str] = set()
        for entry in entries:
            text = _name(entry)
            try:
                networks.append(ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.match(text) or literal_address(text) is not None:
                raise ValueError(
                    f"{ALLOW_SETTING}: {entry!r} is neither a network (CIDR such as 10.20.0.0/16, or one "
                    "address) nor a host name (ASCII, punycode for accented names, e.g. he-thong.noibo.vn)"
                )
            hosts.add(text)
        return cls(tuple(networks), frozenset(hosts))

    def admits_host(self, host: str) -> bool:
        return _name(host) in self.hosts

    def admits_address(self, address: IPAddress) -> bool:
        address = canonical(address)
        return any(address.version == n.version and address in n for n in self.networks)


NOTHING_ALLOWED = AllowList()


def canonical(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is the IPv4 address it carries."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any spelling `ipaddress` or the C resolver accepts; None for a name.

    `socket.inet_aton` is the resolver's own reading of legacy IPv4 forms: `127.1`, `0x7f.1`,
    `2130706433`, `017700000001`, `127.000.000.001`.
    """
    text = _name(host)
    try:
        return canonical(ip_address(text))
    except ValueError:
        pass
    try:
        return IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):  # ValueError: non-ASCII or NUL characters
        return None


def is_internal(address: IPAddress) -> bool:
    """True for anything but a public unicast address: loopback, private (RFC 1918, fc00::/7),
    link-local, multicast, unspecified, reserved, shared (100.64/10), broadcast, documentation…"""
    address = canonical(address)
    if isinstance(address, IPv6Address):
        if address.sixtofour is not None and is_internal(address.sixtofour):
            return True  # 6to4 (2002::/16) carries an IPv4 address a relay may deliver to
        if address.is_site_local:
            return True  # fec0::/10, deprecated but still private; `is_global` misses it
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast  # `is_global` is true for global multicast
        or address.is_unspecified
        or address.is_reserved
    )


def is_internal_name(host: str) -> bool:
    name = _name(host)
    return any(name == suffix or name.endswith("." + suffix) for suffix in INTERNAL_SUFFIXES)


def _internal(shown: str, *, at_send: bool = False) -> Refusal:
    what_vi = "Máy chủ webhook phân giải ra địa chỉ mạng nội bộ" if at_send else "Địa chỉ webhook trỏ vào mạng nội bộ"
    what_en = (
        "The webhook host resolves into an internal network"
        if at_send
        else ("The webhook URL points into an internal network")
    )
    return Refusal(
        f"{what_vi} ({shown}); dùng địa chỉ công khai của hệ thống cơ quan, hoặc nhờ quản trị thêm vào "
        f"{ALLOW_SETTING}.",
        f"{what_en} ({shown}); use the public address of the agency's system, or ask the administrator to add it "
        f"to {ALLOW_SETTING}.",
    )


def check_url(url: str, allowed: AllowList = NOTHING_ALLOWED) -> Refusal | None:
    """Why `url` may not receive webhooks, or None if it may (as far as can be told without DNS)."""
    try:
        parts = urlsplit(url.strip())
        valid = parts.port != 0  # reading the port raises on one that is not a number in range
    except ValueError:
        valid = False
    if not valid:
        return Refusal(
            f"Địa chỉ webhook không hợp lệ ({url}); nhập dạng https://ten-mien/duong-dan.",
            f"The webhook URL is not valid ({url}); enter it as https://host/path.",
        )
    if parts.scheme.lower() not in ("http", "https"):
        return Refusal(
            f"Địa chỉ webhook phải bắt đầu bằng https:// hoặc http:// (đang là {parts.scheme or 'trống'}).",
            f"The webhook URL must start with https:// or http:// (it uses {parts.scheme or 'no scheme'}).",
        )
    if "@" in parts.netloc:
        return Refusal(
            "Địa chỉ webhook không được chứa tên đăng nhập, mật khẩu (dạng user:pass@); hệ thống cơ quan kiểm tra "
            "thông báo bằng chữ ký HMAC với webhook_secret.",
            "The webhook URL must not carry a user name or password (user:pass@); the agency's system checks "
            "notifications by their HMAC signature with webhook_secret.",
        )
    host = parts.hostname
    if not host:
        return Refusal(f"Địa chỉ webhook thiếu tên máy chủ ({url}).", f"The webhook URL has no host name ({url}).")
    if allowed.admits_host(host):
        return None
    address = literal_address(host)
    if address is not None:
        if is_internal(address) and not allowed.admits_address(address):
            shown = str(address) if _name(host) == str(address) else f"{host} = {address}"
            return _internal(shown)
        return None
    if is_internal_name(host):
        return _internal(host)
    return None


async def resolve_public(host: str, port: int, allowed: AllowList = NOTHING_ALLOWED) -> list[IPAddress]:
    """The addresses to connect to for `host`, every one of them checked; raises `DestinationRefused`
    if any is internal and not allowed (one bad address is enough: which one a connection gets is not
    ours to choose), `OSError` if the name does not resolve."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(
            _name(host), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        addresses = list(dict.fromkeys(canonical(ip_address(info[4][0])) for info in infos))
    if allowed.admits_host(host):
        return addresses
    for address in addresses:
        if is_internal(address) and not allowed.admits_address(address):
            shown = str(address) if literal is not None else f"{_name(host)} → {address}"
            raise DestinationRefused(_internal(shown, at_send=True))
    return addresses
