"""What every page of the console shares: templates with Vietnamese formats, who is signed in, role
checks, CSRF checks, and the error pages a person can act on.

Pages are server-rendered and work without JavaScript. Forms that fail keep what was typed and
show each message next to its field and in a summary at the top (the GOV.UK pattern).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.console.accounts import ROLES, Account
from services.console.backend import ServiceDown, ServiceError
from services.console.sessions import Session
from shared.clock import VIETNAM
from shared.events import FIELDS, Head
from shared.events.vocabulary import CHANNEL_LABELS, Channel
from shared.http import tokens
from shared.http.limits import client_address
from shared.text import vn_number

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "doithoai_phien"
FORM_COOKIE = "doithoai_bieu_mau"  # the anonymous forms' CSRF cookie (double submit)


def vn_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def vn_date(value: datetime | date | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM).date()
    return value.strftime("%d/%m/%Y")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["j2", "html"]))
    env.filters.update(vn_datetime=vn_datetime, vn_date=vn_date, vn_number=vn_number, urlquote=quote)
    env.globals.update(
        FIELDS=FIELDS,
        FIELD_OPTIONS=[(code, f.name) for code, f in FIELDS.items()],
        HEADS={h.value: h.label for h in Head},
        HEAD_OPTIONS=[(h.value, h.label) for h in Head],
        CHANNELS={c.value: CHANNEL_LABELS[c] for c in Channel},
        ROLES=ROLES,
    )
    return env


ENV = _env()


@dataclass
class Viewer:
    """The person signed in, and their session."""

    account: Account
    session: Session
    address: str | None

    @property
    def roles(self) -> set[str]:
        return set(self.account.roles)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def agency_only(self) -> bool:
        return self.roles == {"agency"}

    def person(self) -> tokens.Person:
        a = self.account
        return tokens.Person(
            username=a.username,
            name=a.full_name,
            roles=tuple(a.roles),
            position=a.position,
            agency_id=a.agency_id,
            head=a.head,
            address=self.address,
        )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    csrf = viewer.session.csrf if viewer else form_token(request)
    html = ENV.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=csrf,
        instance_name=request.app.state.settings.instance_name,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if viewer is None:
        set_form_cookie(request, response, csrf)
    return response


def form_token(request: Request) -> str:
    """The anonymous form token: the cookie's, or a new one (set on the response by `render`)."""
    token = request.cookies.get(FORM_COOKIE)
    if not token or len(token) > 64:
        token = getattr(request.state, "new_form_token", None) or secrets.token_urlsafe(24)
        request.state.new_form_token = token
    return token


def set_form_cookie(request: Request, response: Response, token: str) -> None:
    if request.cookies.get(FORM_COOKIE) != token:
        response.set_cookie(
            FORM_COOKIE, token, httponly=True, samesite="strict", secure=request.app.state.secure_cookies, path="/"
        )


class CsrfRefused(Exception):
    pass


def check_csrf(request: Request, posted: str | None) -> None:
    """The form's token must be the session's (signed in) or the form cookie's (anonymous)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    expected = viewer.session.csrf if viewer else request.cookies.get(FORM_COOKIE)
    if not expected or not posted or not hmac.compare_digest(expected.encode(), posted.encode()):
        raise CsrfRefused()


class SignInNeeded(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def require(request: Request, *roles: str) -> Viewer:
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    if viewer is None:
        raise SignInNeeded()
    if roles and not viewer.has(*roles):
        wanted = ", ".join(ROLES[r] for r in roles if r in ROLES)
        raise Forbidden(f"Trang này dành cho: {wanted}. Tài khoản của bạn không có vai trò đó.")
    return viewer


def address(request: Request) -> str | None:
    return client_address(request)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: Exception) -> HTMLResponse:
    if isinstance(exc, ServiceDown):
        return render(request, "error.html.j2", 503, title="Tạm thời gián đoạn", message=exc.message_vi)
    if isinstance(exc, CsrfRefused):
        return render(
            request,
            "error.html.j2",
            403,
            title="Biểu mẫu đã hết hạn",
            message="Biểu mẫu này đã hết hạn hoặc không được gửi từ trang của hệ thống. Hãy tải lại trang và gửi lại.",
        )
    if isinstance(exc, Forbidden):
        return render(request, "error.html.j2", 403, title="Không có quyền", message=exc.message)
    if isinstance(exc, ServiceError):
        return render(request, "error.html.j2", exc.status, title="Không thực hiện được", message=exc.message_vi)
    raise exc
