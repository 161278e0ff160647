"""API keys carrying roles: front/secretary staff, responsible agencies, operators."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from shared.http.errors import ApiError
from shared.settings import KeyHolder, Role

ROLE_LABELS_VI: dict[str, str] = {
    "front": "cán bộ Mặt trận/thư ký",
    "agency": "cơ quan chịu trách nhiệm",
    "operator": "quản trị vận hành",
}

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Khóa API (API key) theo vai trò.")


@dataclass(frozen=True)
class Caller:
    role: Role
    key_id: str  # a short, non-secret handle for logs and the audit trail
    name: str | None = None

    def as_record(self) -> dict[str, str]:
        """Who, as the audit trail stores it."""
        return {"actor": self.name or self.key_id, "role": self.role, "key_id": self.key_id}


def identify(keys: dict[str, KeyHolder], presented: str | None) -> Caller:
    if not presented:
        raise ApiError(
            401,
            "missing_api_key",
            "Thiếu khóa API: gửi khóa trong tiêu đề X-API-Key.",
            "Missing API key: send it in the X-API-Key header.",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    for key, holder in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            return Caller(role=holder.role, key_id=f"{holder.role}:{holder.name or key[:4] + '…'}", name=holder.name)
    raise ApiError(
        401,
        "invalid_api_key",
        "Khóa API không đúng hoặc đã bị thu hồi.",
        "The API key is not valid or has been revoked.",
        headers={"WWW-Authenticate": "ApiKey"},
    )


def authorize(caller: Caller, allowed: tuple[Role, ...]) -> Caller:
    if caller.role not in allowed:
        wanted_vi = ", ".join(ROLE_LABELS_VI[r] for r in allowed)
        raise ApiError(
            403,
            "forbidden_role",
            f"Vai trò '{ROLE_LABELS_VI[caller.role]}' không được làm việc này; cần: {wanted_vi}.",
            f"Role '{caller.role}' may not do this; allowed roles: {', '.join(allowed)}.",
        )
    return caller


def require_role(*allowed: Role) -> Callable[..., Awaitable[Caller]]:
    """FastAPI dependency: the caller, if their key's role is among `allowed`."""

    async def dependency(request: Request, presented: str | None = Security(API_KEY_HEADER)) -> Caller:
        return authorize(identify(request.app.state.settings.api_keys, presented), allowed)

    return dependency
