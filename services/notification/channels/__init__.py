"""Delivery channels behind one small interface: give a message to a recipient, say how it went.

A channel raises `TemporaryFailure` when trying again later may work (server down, timeout,
HTTP 5xx or 429) and `PermanentFailure` when it will not (address refused, HTTP 3xx or 4xx); the
service retries the first with backoff and parks the second for an operator. A new channel is a
class with a `name` and `deliver`, registered in the notification app.

Failures are recorded and shown to operators (`last_error`), so they never quote what a receiver
sent back: a reply body, or a malformed reply, may carry whatever the server behind the URL holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Message:
    notification_id: str
    type: str
    subject: str
    body: str
    sms: str
    tracking_code: str | None
    opinion_id: str | None
    ack_url: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Address:
    """Where a recipient is reached on one channel (the webhook secret is looked up, never stored)."""

    value: str
    secret: str | None = None


@dataclass(frozen=True)
class Delivered:
    acknowledged: bool = False  # the recipient confirmed receipt in its reply (webhooks)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class DeliveryChannel(Protocol):
    name: str

    async def deliver(self, message: Message, address: Address) -> Delivered: ...


def _status(code: int) -> str:
    """A status code with its standard phrase, never the receiver's own words."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _problem(exc: httpx.HTTPError) -> str:
    """What went wrong on the way. Only timeouts and network errors keep their message (the operating
    system's words); protocol errors quote the offending bytes of the reply (h11: "illegal status line:
    b'…'"), so they are named by their class alone."""
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError) and str(exc):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


def _pinned(url: httpx.URL, address: IPv4Address | IPv6Address) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The request for `url` sent to `address`: the name stays in the Host header and, for https, in SNI
    and certificate verification (httpcore takes the `sni_hostname` extension as `server_hostname`)."""
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    return url.copy_with(host=str(address)), {"Host": url.netloc.decode("ascii")}, extensions


async def post(
    url: str,
    *,
    what: str,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    connect_to: Sequence[IPv4Address | IPv6Address] = (),
    **kwargs: Any,
) -> httpx.Response:
    """POST to an HTTP recipient; 408, 429, 5xx and unreachable are temporary, 3xx and other 4xx final.

    With `connect_to` (addresses checked beforehand), the connection goes to those addresses, in order,
    the next one only when connecting failed and while the first timeout has not run out, and never to
    whatever the name resolves to by then (DNS rebinding).
    """
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise PermanentFailure(f"{what}: not a valid URL ({exc})") from exc
    plain: tuple[httpx.URL, dict[str, str], dict[str, Any]] = (target, {}, {})
    attempts = [_pinned(target, a) for a in connect_to] or [plain]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    # Redirects are not followed (httpx's default, kept explicit): the Location would be a destination
    # nobody checked. Pinned requests ignore the environment: a proxy from HTTPS_PROXY would get the bare
    # address (and verify TLS against it), and .netrc credentials have no business here.
    async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=not connect_to) as client:
        for index, (request_url, host_header, extensions) in enumerate(attempts):
            try:
                response = await client.post(
                    request_url, headers={**(headers or {}), **host_header}, extensions=extensions, **kwargs
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if index + 1 < len(attempts) and loop.time() < deadline:
                    continue  # nothing was sent; the name's next checked address may answer
                raise TemporaryFailure(f"{what} unreachable: {_problem(exc)}") from exc
            except httpx.HTTPError as exc:
                raise TemporaryFailure(f"{what} unreachable: {_problem(exc)}") from exc
    code = response.status_code
    if code in (408, 429) or code >= 500:
        raise TemporaryFailure(f"{what} answered {_status(code)}")
    if code >= 400:
        raise PermanentFailure(f"{what} refused it: {_status(code)}")
    if code >= 300:
        raise PermanentFailure(f"{what} answered {_status(code)}, a redirect, which is not followed: not delivered")
    return response
