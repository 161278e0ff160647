"""Wiring of the console: the Vietnamese web pages of one instance, beside its four services.

It owns only people's accounts and sessions (its own database); everything else it reads and changes
through the services' HTTP APIs, signing for each call a short-lived token that names the person.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram
from pydantic import Field, SecretStr

from services.console import views
from services.console.accounts import Account, AccountError, Accounts
from services.console.backend import Backend, ServiceDown, ServiceError
from services.console.sessions import Sessions
from services.console.web import (
    SESSION_COOKIE,
    CsrfRefused,
    Forbidden,
    SignInNeeded,
    Viewer,
    address,
    error_page,
    redirect,
)
from shared.agencies import load_seed
from shared.clock import Clock, OffsetFileClock, SystemClock
from shared.http.limits import RateLimiter
from shared.observability import metrics
from shared.settings import ServiceSettings
from shared.storage.mongo import close as close_client
from shared.storage.mongo import connect, ping

log = logging.getLogger(__name__)
SERVICE = "console"
STATIC = Path(__file__).parent / "static"

PAGE_SECONDS = Histogram(
    "doithoai_console_page_seconds",
    "Time to answer a console page, by route.",
    (*metrics.BASE_LABELS, "route", "method"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)
SIGN_INS = Counter(
    "doithoai_console_sign_ins_total", "Sign-in attempts, by outcome.", (*metrics.BASE_LABELS, "outcome")
)

DEV_PASSWORD = "thu-nghiem-2026"  # development accounts of `make run` only (README)
DEV_ACCOUNTS = [
    ("mat-tran", "Lê Thị Mai", "Phó Chủ tịch Ủy ban MTTQ", ["front"], None),
    ("thu-ky", "Nguyễn Thị Thư", "Công chức Văn phòng, thư ký hội nghị", ["secretary"], None),
    ("bi-thu", "Trần Văn Bình", "Bí thư Đảng ủy", ["head"], "party_secretary"),
    ("chu-tich-hdnd", "Phạm Thị Hòa", "Chủ tịch HĐND", ["head"], "council_chair"),
    ("chu-tich", "Đỗ Văn Cường", "Chủ tịch UBND", ["head"], "committee_chair"),
    ("van-hanh", "Vũ Minh Vận", "Quản trị hệ thống", ["operator"], None),
]


class ConsoleSettings(ServiceSettings):
    http_port: int = 8105
    intake_url: str = Field(default="http://127.0.0.1:8101", description="Intake's HTTP API.")
    scheduling_url: str = Field(default="http://127.0.0.1:8102", description="Scheduling's HTTP API.")
    assignment_url: str = Field(default="http://127.0.0.1:8103", description="Assignment's HTTP API.")
    notification_url: str = Field(default="http://127.0.0.1:8104", description="Notification's HTTP API.")
    public_url: str = Field(
        default="http://127.0.0.1:8105",
        description="The console as people reach it; https makes session cookies Secure.",
    )
    signing_key: SecretStr | None = Field(
        default=None, description="PEM Ed25519 private key that signs persons' tokens (prefer the _FILE form)."
    )
    signing_key_file: Path | None = Field(default=None, description="File holding the console's private key.")
    session_idle_minutes: int = Field(default=60, ge=5, le=24 * 60, description="A session unused this long ends.")
    session_hours: int = Field(default=12, ge=1, le=24 * 7, description="A session ends after this long in any case.")
    dev_accounts: bool = Field(
        default=False, description="Development only: create one account per role (README lists them)."
    )
    oidc_issuer: str | None = Field(default=None, description="OpenID Connect issuer for single sign-on (optional).")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None

    def private_key(self) -> str:
        if self.signing_key_file is not None:
            return self.signing_key_file.read_text(encoding="utf-8")
        if self.signing_key is not None:
            return self.signing_key.get_secret_value()
        raise ValueError("the console needs DOITHOAI_SIGNING_KEY_FILE: the private key that signs persons' tokens")


async def seed_dev_accounts(accounts: Accounts, settings: ConsoleSettings, clock: Clock) -> None:
    agencies = load_seed(settings.agency_seed(), instance_id=settings.instance_id, level=settings.level)
    wanted = [Account(u, name, position, roles, head=head) for u, name, position, roles, head in DEV_ACCOUNTS]
    wanted += [Account(a.id, f"Cán bộ {a.name}", a.name, ["agency"], agency_id=a.id) for a in agencies if a.active]
    for account in wanted:
        if await accounts.get(account.username) is None:
            try:
                await accounts.add(account, DEV_PASSWORD, clock.now())
            except AccountError:
                pass  # made by a twin process at the same moment


def create_app(settings: ConsoleSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    if clock is None:
        clock = OffsetFileClock(settings.test_clock_file) if settings.test_clock_file else SystemClock()
    metrics.configure(instance=settings.instance_id, level=settings.level, service=SERVICE)
    mongo = connect(settings.mongo_url)
    db = mongo[settings.database_name(SERVICE)]
    accounts = Accounts(db)
    sessions = Sessions(
        db, idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_hours)
    )
    backend = Backend(
        {
            "intake": settings.intake_url,
            "scheduling": settings.scheduling_url,
            "assignment": settings.assignment_url,
            "notification": settings.notification_url,
        },
        private_key=settings.private_key(),
        instance=settings.instance_id,
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await accounts.create_indexes()
        await sessions.create_indexes()
        if settings.dev_accounts:
            await seed_dev_accounts(accounts, settings, clock)
        log.info("console of %s ready on port %d", settings.instance_id, settings.http_port)
        try:
            yield
        finally:
            await backend.close()
            await close_client(mongo)

    app = FastAPI(
        title=f"doithoai — bảng điều khiển ({settings.instance_name})",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.accounts = accounts
    app.state.sessions = sessions
    app.state.sso_pending = db["sso_pending"]
    app.state.backend = backend
    app.state.secure_cookies = settings.public_url.startswith("https://")
    app.state.sign_in_limiter = RateLimiter(20)  # failed sign-ins a minute per address
    app.state.public_limiter = RateLimiter(settings.public_rate_per_minute)
    app.state.sign_ins = SIGN_INS

    @app.middleware("http")
    async def who_and_how_long(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        request.state.viewer = None
        token = request.cookies.get(SESSION_COOKIE)
        if token and not request.url.path.startswith(("/tinh/", "/health/", "/metrics")):
            session = await sessions.find(token, clock.now())
            account = await accounts.get(session.username) if session else None
            if session and account and account.active:
                request.state.viewer = Viewer(account, session, address(request))
        response = await call_next(request)
        # Pages are the instance's: never framed, scripts only from here, nothing sniffed.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.state.viewer is not None:
            response.headers.setdefault("Cache-Control", "no-store")
        route = request.scope.get("route")
        PAGE_SECONDS.labels(**metrics.base(), route=getattr(route, "path", "other"), method=request.method).observe(
            time.perf_counter() - started
        )
        return response

    for kind in (ServiceDown, ServiceError, CsrfRefused, Forbidden):
        app.add_exception_handler(kind, error_page)  # type: ignore[arg-type]

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/dang-nhap?tiep={wanted}")

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        ok = await ping(mongo, 1.0)
        return JSONResponse({"status": "ready" if ok else "not_ready"}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    app.mount("/tinh", StaticFiles(directory=STATIC), name="static")
    for router in views.routers():
        app.include_router(router)
    return app
