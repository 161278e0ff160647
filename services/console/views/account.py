"""Signing in and out, changing one's password, and the first page after signing in."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.accounts import AccountError, SignInRefused
from services.console.web import SESSION_COOKIE, Viewer, address, check_csrf, redirect, render, require, vn_datetime
from shared.observability import metrics

router = APIRouter()


def _next(target: str) -> str:
    """Only a path of this site: never an address elsewhere (an open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/lam-viec"


def _sign_in_page(request: Request, status: int, *, username: str, next_: str, error: str | None) -> Response:
    sso = bool(request.app.state.settings.oidc_issuer)
    return render(
        request, "sign_in.html.j2", status, title="Đăng nhập", username=username, next=next_, error=error, sso=sso
    )


@router.get("/dang-nhap", response_class=HTMLResponse)
async def sign_in_form(request: Request, tiep: str = "/lam-viec") -> Response:
    if getattr(request.state, "viewer", None):
        return redirect(_next(tiep))
    return _sign_in_page(request, 200, username="", next_=_next(tiep), error=None)


@router.post("/dang-nhap", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    tiep: Annotated[str, Form(max_length=500)] = "/lam-viec",
) -> Response:
    check_csrf(request, csrf_token)
    state = request.app.state
    now, where = state.clock.now(), address(request) or ""
    outcome = state.sign_ins.labels
    if not username or not password:
        return _sign_in_page(
            request, 422, username=username, next_=_next(tiep), error="Nhập tên đăng nhập và mật khẩu."
        )
    # Too many failures from one address, whatever the names tried: wait a little.
    if (wait := state.sign_in_limiter.peek(f"fail:{where}")) > 0:
        outcome(**_labels(request), outcome="throttled").inc()
        return _sign_in_page(
            request, 429, username=username, next_=_next(tiep),
            error=f"Quá nhiều lần đăng nhập sai từ máy này; thử lại sau {math.ceil(wait)} giây.",
        )  # fmt: skip
    try:
        account = await state.accounts.sign_in(username, password, now)
    except SignInRefused as exc:
        state.sign_in_limiter.wait(f"fail:{where}")
        outcome(**_labels(request), outcome=exc.reason).inc()
        if exc.reason == "locked":
            message = (
                "Tài khoản tạm khóa vì đăng nhập sai nhiều lần; "
                f"thử lại sau {vn_datetime(exc.until)} hoặc nhờ quản trị đặt lại mật khẩu."
            )
        elif exc.reason == "disabled":
            message = "Tài khoản đã bị ngừng sử dụng; liên hệ quản trị hệ thống."
        else:
            message = "Tên đăng nhập hoặc mật khẩu không đúng."
        return _sign_in_page(request, 401, username=username, next_=_next(tiep), error=message)
    outcome(**_labels(request), outcome="ok").inc()
    token, _ = await state.sessions.open(account.username, now, via="password", address=where)
    target = "/tai-khoan/doi-mat-khau" if account.must_change_password else _next(tiep)
    response = redirect(target)
    set_session_cookie(request, response, token)
    return response


def _labels(_: Request) -> dict[str, str]:
    return metrics.base()


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/",
        max_age=request.app.state.settings.session_hours * 3600,
    )


@router.post("/dang-xuat")
async def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    viewer = require(request)
    check_csrf(request, csrf_token)
    await request.app.state.sessions.close(viewer.session)
    response = redirect("/?da-dang-xuat=1")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/tai-khoan/doi-mat-khau", response_class=HTMLResponse)
async def password_form(request: Request) -> Response:
    viewer = require(request)
    return render(
        request, "password.html.j2", title="Đổi mật khẩu", errors={}, forced=viewer.account.must_change_password
    )


@router.post("/tai-khoan/doi-mat-khau", response_class=HTMLResponse)
async def change_password(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    current: Annotated[str, Form(max_length=200)] = "",
    new: Annotated[str, Form(max_length=200)] = "",
    again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    viewer = require(request)
    check_csrf(request, csrf_token)
    state = request.app.state
    errors: dict[str, str] = {}
    try:
        await state.accounts.sign_in(viewer.account.username, current, state.clock.now())
    except SignInRefused:
        errors["current"] = "Mật khẩu hiện tại không đúng."
    if new != again:
        errors["again"] = "Nhập lại mật khẩu mới chưa khớp."
    if not errors:
        try:
            await state.accounts.set_password(viewer.account.username, new, must_change=False)
        except AccountError as exc:
            errors["new"] = exc.message_vi
    if errors:
        forced = viewer.account.must_change_password
        return render(request, "password.html.j2", 422, title="Đổi mật khẩu", errors=errors, forced=forced)
    # Every other session of the account ends; this one goes on.
    await state.sessions.close_all(viewer.account.username)
    token, _ = await state.sessions.open(
        viewer.account.username, state.clock.now(), via="password", address=address(request)
    )
    response = redirect("/lam-viec?da-doi-mat-khau=1")
    set_session_cookie(request, response, token)
    return response


@router.get("/lam-viec", response_class=HTMLResponse)
async def work(request: Request) -> Response:
    viewer: Viewer = require(request)
    if viewer.account.must_change_password:
        return redirect("/tai-khoan/doi-mat-khau")
    return render(request, "work.html.j2", title="Việc của tôi")
