"""The HTTP face every service shares: health, metrics, error format and request limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.audit import audit_router
from shared.http.errors import ApiError, install_error_handlers
from shared.http.limits import RateLimiter
from shared.http.operations import operations_router
from shared.observability import metrics

if TYPE_CHECKING:
    from shared.runtime import Runtime

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # our documents nest 4 deep; a parser recursing into 1000 levels raised RecursionError


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Do brackets outside strings nest deeper than `limit`? One pass, no parsing."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, whether or not Content-Length is sent, and JSON nested
    deeper than MAX_JSON_DEPTH with 400, before any parser sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    @staticmethod
    def _refuse(scope: Scope, err: ApiError) -> Response:
        path = str(scope.get("path", ""))
        if path.startswith("/open311/"):  # the GeoReport spec's error format, in the format the path names
            description = f"{err.message_vi} / {err.message_en}"
            if path.endswith(".xml"):
                xml = (
                    '<?xml version="1.0" encoding="utf-8"?>\n<errors><error>'
                    f"<code>{err.status}</code><description>{escape(description)}</description></error></errors>"
                )
                return Response(xml, status_code=err.status, media_type="text/xml; charset=utf-8")
            return JSONResponse(
                [{"code": err.status, "description": description}],
                status_code=err.status,
                media_type="application/json; charset=utf-8",
            )
        return JSONResponse(err.body(), status_code=err.status)

    def _too_large(self, scope: Scope) -> Response:
        kib = self.max_bytes // 1024
        return self._refuse(
            scope,
            ApiError(
                413,
                "body_too_large",
                f"Nội dung gửi lên quá lớn; tối đa {kib} KiB.",
                f"Request body too large; the limit is {kib} KiB.",
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(scope)(scope, receive, send)
            return

        # Buffer the body with a cap so chunked uploads are limited too.
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
        is_json = headers.get(b"content-type", b"").split(b";")[0].strip().lower() == b"application/json"
        if is_json and json_too_deep(bytes(body)):
            err = ApiError(
                400,
                "json_too_deep",
                f"JSON lồng nhau quá sâu (tối đa {MAX_JSON_DEPTH} cấp).",
                f"JSON nested too deep (at most {MAX_JSON_DEPTH} levels).",
            )
            await self._refuse(scope, err)(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def require_json(request: Request) -> None:
    """Dependency for JSON endpoints: a wrong Content-Type is a 415, not a confusing 422."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Cần gửi JSON với Content-Type: application/json (nhận được: {content_type or 'không có'}).",
            f"Send JSON with Content-Type: application/json (got: {content_type or 'none'}).",
        )


def create_service_app(
    *,
    title: str,
    description: str,
    runtime: Runtime,
    setup: Callable[[], Awaitable[None]] | None = None,
    routers: list[APIRouter] = (),  # type: ignore[assignment]
) -> FastAPI:
    """The service's ASGI app; its lifespan starts the runtime (after `setup`) and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start(setup)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    app.state.rate_limiter = RateLimiter(runtime.settings.public_rate_per_minute)
    readiness = runtime.readiness
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware)

    @app.get("/health/live", tags=["vận hành"], summary="Tiến trình còn sống")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", tags=["vận hành"], summary="Sẵn sàng: kết nối được broker và cơ sở dữ liệu")
    async def ready() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks}, status_code=200 if ok else 503
        )

    @app.get("/metrics", tags=["vận hành"], summary="Số liệu Prometheus", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.get(
        "/asyncapi.json",
        tags=["vận hành"],
        summary="AsyncAPI của các sự kiện dịch vụ này nhận",
        include_in_schema=False,
    )
    async def asyncapi() -> JSONResponse:
        from shared.messaging.consumer import event_catalogue

        return JSONResponse(event_catalogue(runtime.broker, runtime.service))

    for router in (*routers, audit_router(), operations_router()):
        app.include_router(router)
    return app
