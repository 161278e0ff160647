"""The HTTP face every service shares: health, metrics, error format and request limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.audit import audit_router
from shared.http.errors import ApiError, install_error_handlers
from shared.http.limits import RateLimiter
from shared.observability import metrics

if TYPE_CHECKING:
    from shared.runtime import Runtime

MAX_BODY_BYTES = 64 * 1024


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` with 413, whether or not Content-Length is sent."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        err = ApiError(
            413,
            "body_too_large",
            f"Nội dung gửi lên quá lớn; tối đa {self.max_bytes // 1024} KiB.",
            f"Request body too large; the limit is {self.max_bytes // 1024} KiB.",
        )
        return JSONResponse(err.body(), status_code=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large()(scope, receive, send)
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
                await self._too_large()(scope, receive, send)
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
        from faststream.specification import AsyncAPI

        spec = AsyncAPI(runtime.broker, title=f"doithoai {runtime.service}", version="1.0.0").to_specification()
        return JSONResponse(spec.to_jsonable())

    for router in (*routers, audit_router()):
        app.include_router(router)
    return app
