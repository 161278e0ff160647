"""Who is calling, checked on every endpoint: a person the console vouches for with a short-lived
signed token (`Authorization: Bearer`), or a machine with a scoped API key (`X-API-Key`).

A caller has one or more roles. Front staff, secretaries, heads and operators work for the whole
instance; a caller whose only role is `agency` is bound to one agency of the directory and reaches
only what is addressed to that agency (object-level checks: `check_agency`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.http import tokens
from shared.http.errors import ApiError
from shared.http.limits import client_address
from shared.settings import INSTANCE_WIDE_ROLES, KeyHolder, Role, ServiceSettings

ROLE_LABELS_VI: dict[str, str] = {
    "front": "cán bộ Mặt trận",
    "secretary": "thư ký hội nghị",
    "head": "người đứng đầu",
    "agency": "cơ quan chịu trách nhiệm",
    "operator": "quản trị vận hành",
    "portal": "cổng công dân",
}
KNOWN_ROLES = frozenset(ROLE_LABELS_VI)

# Who does what: staff collect and record opinions and run conferences; heads read and follow;
# an agency reads and answers what is addressed to it; operators run the instance.
STAFF: tuple[Role, ...] = ("front", "secretary", "operator")
READERS: tuple[Role, ...] = (*STAFF, "head")
EVERYONE: tuple[Role, ...] = (*READERS, "agency")

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (API key) theo vai trò.")
PERSON_TOKEN = HTTPBearer(
    auto_error=False, description="Thẻ ngắn hạn do bảng điều khiển ký cho người đang đăng nhập (JWT, EdDSA)."
)


def key_id(key: str) -> str:
    """A stable, non-secret handle of a key (for logs, audit and idempotency scopes): a hash, not a prefix."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Caller:
    roles: frozenset[str]
    key_id: str  # stable and unique per key (or person); never part of the secret
    name: str | None = None
    agency_id: str | None = None  # set for a caller bound to one agency
    address: str | None = None  # where the request came from
    head: str | None = None  # which head a person of the head role is (party_secretary…)

    @property
    def actor(self) -> str:
        """Who, as people read it: the holder's name, else the key's handle."""
        return self.name or self.key_id

    @property
    def agency_bound(self) -> bool:
        """Reaches only its own agency's items: the agency role and no instance-wide role."""
        return "agency" in self.roles and not (self.roles & INSTANCE_WIDE_ROLES)

    def may_see_agency(self, agency_id: str | None) -> bool:
        return not self.agency_bound or (agency_id is not None and agency_id == self.agency_id)

    def as_record(self) -> dict[str, object]:
        """Who, as the audit trail stores it."""
        return {
            "actor": self.actor,
            "actor_id": self.key_id,
            "roles": sorted(self.roles),
            "agency_id": self.agency_id,
            "from_address": self.address,
        }


def caller_for(key: str, holder: KeyHolder, address: str | None = None) -> Caller:
    return Caller(
        roles=frozenset(holder.roles),
        key_id=key_id(key),
        name=holder.name,
        agency_id=holder.agency_id,
        address=address,
    )


def person_caller(settings: ServiceSettings, token: str, address: str | None) -> Caller:
    """The person a console token names, if it verifies; 401 otherwise."""
    keys = settings.console_keys()
    try:
        if not keys:
            raise tokens.InvalidToken("this service has no console key configured (DOITHOAI_CONSOLE_PUBLIC_KEY)")
        person = tokens.verify(token, public_keys=keys, instance=settings.instance_id)
        unknown = set(person.roles) - KNOWN_ROLES
        if unknown:
            raise tokens.InvalidToken(f"unknown roles {sorted(unknown)}")
        if "agency" in person.roles and not person.agency_id:
            raise tokens.InvalidToken("an agency's person carries no agency_id")
    except tokens.InvalidToken as exc:
        raise ApiError(
            401,
            "invalid_token",
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn; vui lòng đăng nhập lại.",
            f"The person's token is not valid ({exc}); sign in again.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    return Caller(
        roles=frozenset(person.roles),
        key_id=f"person:{person.username}",
        name=f"{person.name}, {person.position}" if person.position else person.name,
        agency_id=person.agency_id,
        address=person.address or address,
        head=person.head,
    )


def identify(keys: dict[str, KeyHolder], presented: str | None, address: str | None = None) -> Caller:
    if not presented:
        raise ApiError(
            401,
            "missing_api_key",
            "Thiếu khóa API: gửi khóa trong tiêu đề X-API-Key (máy), hoặc đăng nhập qua bảng điều khiển (người).",
            "Missing API key: send it in the X-API-Key header (machines), or sign in through the console (people).",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    for key, holder in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            return caller_for(key, holder, address)
    raise ApiError(
        401,
        "invalid_api_key",
        "Khóa API không đúng hoặc đã bị thu hồi.",
        "The API key is not valid or has been revoked.",
        headers={"WWW-Authenticate": "ApiKey"},
    )


def authorize(caller: Caller, allowed: Iterable[Role]) -> Caller:
    allowed = tuple(allowed)
    if not caller.roles & set(allowed):
        held_vi = ", ".join(ROLE_LABELS_VI[r] for r in sorted(caller.roles))
        wanted_vi = ", ".join(ROLE_LABELS_VI[r] for r in allowed)
        raise ApiError(
            403,
            "forbidden_role",
            f"Vai trò '{held_vi}' không được làm việc này; cần: {wanted_vi}.",
            f"Role '{', '.join(sorted(caller.roles))}' may not do this; allowed roles: {', '.join(allowed)}.",
        )
    return caller


def check_agency(caller: Caller, agency_id: str | None, what_vi: str, what_en: str) -> None:
    """403 unless the caller may reach an item addressed to `agency_id` (an agency reaches only its own)."""
    if not caller.may_see_agency(agency_id):
        raise ApiError(
            403,
            "other_agency",
            f"{what_vi} không giao cho cơ quan của bạn ({caller.agency_id}); "
            "chỉ xem, xác nhận, trả lời được việc giao cho cơ quan mình.",
            f"{what_en} is not addressed to your agency ({caller.agency_id}); "
            "an agency may read, acknowledge and answer only what is addressed to it.",
        )


def _caller(request: Request, key: str | None, bearer: HTTPAuthorizationCredentials | None) -> Caller:
    settings = request.app.state.settings
    if bearer is not None:
        return person_caller(settings, bearer.credentials, client_address(request))
    return identify(settings.api_keys, key, client_address(request))


def require_role(*allowed: Role) -> Callable[..., Awaitable[Caller]]:
    """FastAPI dependency: the caller (a person's token or a machine's key), if one of their roles is among
    `allowed`."""

    async def dependency(
        request: Request,
        key: str | None = Security(API_KEY_HEADER),
        bearer: HTTPAuthorizationCredentials | None = Security(PERSON_TOKEN),
    ) -> Caller:
        return authorize(_caller(request, key, bearer), allowed)

    return dependency


async def optional_caller(
    request: Request,
    key: str | None = Security(API_KEY_HEADER),
    bearer: HTTPAuthorizationCredentials | None = Security(PERSON_TOKEN),
) -> Caller | None:
    """For public endpoints that show staff more: None without a key or token; a wrong one is still a 401."""
    if key is None and bearer is None:
        return None
    return _caller(request, key, bearer)
