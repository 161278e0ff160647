"""The four services as the console reaches them: their HTTP APIs, called on behalf of the person
signed in (a short-lived token the console signs) or of the citizens' portal.

A service that cannot be reached, or says it is unavailable, is `ServiceDown` (the page says so and
nothing is half-done); a refusal is `ServiceError` with the service's own Vietnamese message and the
fields it names, shown next to the form's fields.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.clock import Clock
from shared.http import tokens

log = logging.getLogger(__name__)

SERVICE_NAMES_VI = {
    "intake": "tiếp nhận ý kiến",
    "scheduling": "lịch hội nghị",
    "assignment": "giao việc và trả lời",
    "notification": "thông báo",
}

PORTAL = tokens.Person(username="cong-dan", name="Cổng thông tin công dân", roles=("portal",))


@dataclass
class ServiceError(Exception):
    status: int
    code: str
    message_vi: str
    details: list[dict[str, str]] = field(default_factory=list)

    def for_field(self) -> dict[str, str]:
        """Field → Vietnamese message, for showing each next to its field."""
        return {d.get("field", ""): d.get("message_vi") or d.get("message_en", "") for d in self.details}


@dataclass
class ServiceDown(Exception):
    service: str
    detail: str = ""

    @property
    def message_vi(self) -> str:
        return (
            f"Dịch vụ {SERVICE_NAMES_VI.get(self.service, self.service)} tạm thời không truy cập được; "
            "chưa có gì được ghi lại. Vui lòng thử lại sau ít phút."
        )


class Backend:
    def __init__(
        self, urls: dict[str, str], *, private_key: str, instance: str, clock: Clock, timeout_s: float = 15.0
    ) -> None:
        self.urls = {name: url.rstrip("/") for name, url in urls.items()}
        self.private_key = private_key
        self.instance = instance
        self.clock = clock
        self.http = httpx.AsyncClient(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=20))

    async def close(self) -> None:
        await self.http.aclose()

    def token(self, person: tokens.Person) -> str:
        return tokens.sign(person, private_key=self.private_key, instance=self.instance, now=self.clock.now())

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        person: tokens.Person | None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if person is not None:
            sent["Authorization"] = f"Bearer {self.token(person)}"
            if person.address:
                # The person's own address, for the services' per-address limits (they believe it from
                # the console's address only: DOITHOAI_TRUSTED_PROXIES).
                sent["X-Forwarded-For"] = person.address
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            response = await self.http.request(
                method, f"{self.urls[service]}{path}", json=json, params=clean, headers=sent
            )
        except httpx.HTTPError as exc:
            log.warning("%s %s %s: %r", service, method, path, exc)
            raise ServiceDown(service, repr(exc)) from exc
        if response.status_code >= 500:
            log.warning("%s %s %s answered %d", service, method, path, response.status_code)
        return self._checked(service, response)

    async def get(
        self, service: str, path: str, *, person: tokens.Person | None, forwarded_for: str | None = None, **params: Any
    ) -> Any:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        return (await self.call(service, "GET", path, person=person, params=params, headers=headers)).json()

    async def post(
        self,
        service: str,
        path: str,
        body: Any = None,
        *,
        person: tokens.Person | None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Any:
        response = await self.call(service, "POST", path, person=person, json=body, params=params, headers=headers)
        return response.json() if response.content else None

    async def put(self, service: str, path: str, body: Any, *, person: tokens.Person | None) -> Any:
        return (await self.call(service, "PUT", path, person=person, json=body)).json()

    async def upload_media(
        self, code: str, files: list[tuple[str, bytes, str]], *, person: tokens.Person
    ) -> list[dict[str, Any]]:
        """Attach photos or PDFs (name, bytes, declared type) to an opinion; intake checks them by content."""
        sent = {"Authorization": f"Bearer {self.token(person)}"}
        if person.address:
            sent["X-Forwarded-For"] = person.address
        try:
            response = await self.http.post(
                f"{self.urls['intake']}/api/v1/opinions/{code}/media",
                files=[("file", f) for f in files],
                headers=sent,
            )
        except httpx.HTTPError as exc:
            log.warning("intake upload %s: %r", code, exc)
            raise ServiceDown("intake", repr(exc)) from exc
        return self._checked("intake", response).json()

    async def media(self, code: str, *, person: tokens.Person | None, forwarded_for: str | None = None) -> Any:
        """An opinion's photos and documents: to staff with the EXIF position, to the code's holder without."""
        return await self.get("intake", f"/api/v1/opinions/{code}/media", person=person, forwarded_for=forwarded_for)

    async def media_file(
        self,
        code: str,
        media_id: str,
        *,
        thumbnail: bool,
        person: tokens.Person | None,
        forwarded_for: str | None = None,
        service: str = "intake",
    ) -> tuple[bytes, str, str | None]:
        """One attachment's bytes, its content type and its Content-Disposition (from intake, or for a photo a
        level below sent up, from assignment)."""
        path = f"/api/v1/opinions/{code}/media/{media_id}" + ("/thumbnail" if thumbnail else "")
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
        response = await self.call(service, "GET", path, person=person, headers=headers)
        return response.content, response.headers.get("content-type", ""), response.headers.get("content-disposition")

    def _checked(self, service: str, response: httpx.Response) -> httpx.Response:
        """The response, or the service's refusal as ServiceError (4xx), or ServiceDown (5xx)."""
        if response.status_code >= 500:
            raise ServiceDown(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": f"http_{response.status_code}", "message_vi": "Yêu cầu không thực hiện được."}
            raise ServiceError(
                response.status_code, error.get("code", ""), error.get("message_vi", ""), error.get("details") or []
            )
        return response

    async def ready(self, service: str) -> bool:
        try:
            response = await self.http.get(f"{self.urls[service]}/health/ready", timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
