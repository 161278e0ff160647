"""The operator's pages: the agency directory, the console's people and their roles, the period reports
(figures, charts, downloads), dead letters with replay, and the health of the four services and links.

The health and dead-letter pages ask each service on its own: one that does not answer is shown as down
there, beside the others (elsewhere a service that is down gives the 503 page)."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.accounts import ROLES, USERNAME, Account, AccountError
from services.console.backend import SERVICE_NAMES_VI, ServiceDown, ServiceError
from services.console.views.conferences import DOCUMENT_CSP
from services.console.views.opinions import backend, field_errors, today
from services.console.web import Viewer, check_csrf, redirect, render, require
from shared.events import FIELDS, Head

router = APIRouter()

SERVICES = ("intake", "scheduling", "assignment", "notification")
AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
CHANNEL_LABELS = {"email": "Thư điện tử", "webhook": "Webhook (máy nhận của cơ quan)", "sms": "Tin nhắn SMS"}
# A month, quarter, 6 or 9 months, a year; or a range of days (this level's own figures), as the API takes them.
PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4]|-6M|-9M)?$|^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$")
REPORT_FORMATS = {"csv": "CSV", "xlsx": "Excel (XLSX)", "pdf": "PDF"}


def _operator(request: Request) -> Viewer:
    return require(request, "operator")


@router.get("/quan-tri", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    _operator(request)
    return render(request, "admin.html.j2", title="Quản trị")


# ---- agency directory ---------------------------------------------------------------------------------


@router.get("/quan-tri/co-quan", response_class=HTMLResponse)
async def agencies(request: Request) -> Response:
    viewer = _operator(request)
    items = await backend(request).get("notification", "/api/v1/agencies", person=viewer.person())
    return render(request, "agencies.html.j2", title="Danh bạ cơ quan", items=items, channel_labels=CHANNEL_LABELS)


AGENCY_LABELS = {
    "agency_id": "Mã cơ quan",
    "name": "Tên cơ quan",
    "fields": "Lĩnh vực",
    "email": "Thư điện tử",
    "phone": "Số điện thoại nhận SMS",
    "webhook_url": "Địa chỉ webhook",
    "webhook_secret": "Khóa ký webhook",
    "channels": "Kênh nhận thông báo",
}


def _agency_page(
    request: Request, status: int, *, agency_id: str | None, form: dict[str, Any], errors: dict[str, str]
) -> Response:
    title = "Thêm cơ quan" if agency_id is None else f"Sửa cơ quan {form.get('name') or agency_id}"
    return render(
        request,
        "agency_edit.html.j2",
        status,
        title=title,
        agency_id=agency_id,
        form=form,
        errors=errors,
        labels=AGENCY_LABELS,
        channel_labels=CHANNEL_LABELS,
    )


@router.get("/quan-tri/co-quan/moi", response_class=HTMLResponse)
async def agency_new(request: Request) -> Response:
    _operator(request)
    return _agency_page(request, 200, agency_id=None, form={"channels": ["email"], "active": True}, errors={})


@router.get("/quan-tri/co-quan/{agency_id}", response_class=HTMLResponse)
async def agency_form(request: Request, agency_id: str) -> Response:
    viewer = _operator(request)
    record = await backend(request).get("notification", f"/api/v1/agencies/{quote(agency_id)}", person=viewer.person())
    return _agency_page(request, 200, agency_id=record["id"], form=record, errors={})


@router.post("/quan-tri/co-quan/{agency_id}", response_class=HTMLResponse)
async def agency_save(request: Request, agency_id: str) -> Response:
    viewer = _operator(request)
    data = await request.form()
    check_csrf(request, str(data.get("csrf_token") or ""))
    creating = agency_id == "moi"
    text = {k: str(data.get(k) or "").strip() for k in ("agency_id", "name", "email", "phone", "webhook_url")}
    form: dict[str, Any] = {
        **text,
        "fields": [str(f) for f in data.getlist("fields")],
        "channels": [str(c) for c in data.getlist("channels")],
        "default": bool(data.get("default")),
        "active": bool(data.get("active")),
        "has_webhook_secret": bool(data.get("has_webhook_secret")),
    }
    errors: dict[str, str] = {}
    target = text["agency_id"] if creating else agency_id
    if creating and not AGENCY_ID.match(target):
        errors["agency_id"] = "Mã cơ quan 2–64 ký tự: chữ thường không dấu, số, gạch ngang; ví dụ: dia-chinh-xay-dung."
    if not text["name"]:
        errors["name"] = "Ghi tên cơ quan."
    if set(form["fields"]) - set(FIELDS):
        errors["fields"] = "Chọn lĩnh vực trong danh sách."
    if not form["channels"]:
        errors["channels"] = "Chọn ít nhất một kênh nhận thông báo."
    if creating and not errors and await _agency_exists(request, viewer, target):
        errors["agency_id"] = f"Đã có cơ quan mã {target}; chọn mã khác, hoặc sửa cơ quan đó trong danh bạ."
    if errors:
        return _agency_page(request, 422, agency_id=None if creating else agency_id, form=form, errors=errors)
    body: dict[str, Any] = {
        "name": text["name"],
        "fields": form["fields"],
        "channels": form["channels"],
        "default": form["default"],
        "active": form["active"],
        "email": text["email"] or None,
        "phone": text["phone"] or None,
        "webhook_url": text["webhook_url"] or None,
    }
    if secret := str(data.get("webhook_secret") or "").strip():
        body["webhook_secret"] = secret  # written only; blank keeps the one stored
    try:
        await backend(request).put("notification", f"/api/v1/agencies/{target}", body, person=viewer.person())
    except ServiceError as exc:
        if exc.status == 403:
            raise
        names = {k: k for k in AGENCY_LABELS} | {"body": "channels", "level": "name"}
        errors = field_errors(exc, names, "channels" if exc.status == 422 else "name")
        return _agency_page(request, 422, agency_id=None if creating else agency_id, form=form, errors=errors)
    return redirect(f"/quan-tri/co-quan?da-luu={quote(target)}")


async def _agency_exists(request: Request, viewer: Viewer, agency_id: str) -> bool:
    try:
        await backend(request).get("notification", f"/api/v1/agencies/{agency_id}", person=viewer.person())
    except ServiceError as exc:
        if exc.status == 404:
            return False
        raise
    return True


# ---- people of the console ----------------------------------------------------------------------------


def temporary_password() -> str:
    """Easy to read aloud, hard to guess: three groups of letters and digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


@router.get("/quan-tri/nguoi-dung", response_class=HTMLResponse)
async def people(request: Request) -> Response:
    viewer = _operator(request)
    accounts, directory = await asyncio.gather(
        request.app.state.accounts.all(),
        backend(request).get("assignment", "/api/v1/agencies", person=viewer.person()),
    )
    names = {a["id"]: a["name"] for a in directory}
    return render(
        request,
        "people.html.j2",
        title="Người dùng và vai trò",
        accounts=accounts,
        agency_names=names,
        now=request.app.state.clock.now(),
    )


PERSON_LABELS = {
    "username": "Tên đăng nhập",
    "full_name": "Họ và tên",
    "position": "Chức vụ",
    "roles": "Vai trò",
    "agency_id": "Cơ quan",
    "head": "Người đứng đầu",
    "password": "Mật khẩu tạm",
}


async def _person_page(
    request: Request,
    viewer: Viewer,
    status: int,
    *,
    account: Account | None,
    form: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    directory = await backend(request).get("assignment", "/api/v1/agencies", person=viewer.person())
    title = "Thêm người dùng" if account is None else f"Người dùng {account.username}"
    return render(
        request,
        "person.html.j2",
        status,
        title=title,
        account=account,
        form=form,
        errors=errors,
        labels=PERSON_LABELS,
        agency_options=[(a["id"], a["name"]) for a in directory],
        role_options=list(ROLES.items()),
        suggested=temporary_password(),
        own=account is not None and account.username == viewer.account.username,
    )


def _person_form(data: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        k: str(data.get(k) or "").strip()
        for k in ("username", "full_name", "position", "agency_id", "head", "password")
    }
    form["username"] = form["username"].casefold()
    form["roles"] = [str(r) for r in data.getlist("roles")]
    return form


@router.get("/quan-tri/nguoi-dung/moi", response_class=HTMLResponse)
async def person_new(request: Request) -> Response:
    viewer = _operator(request)
    return await _person_page(request, viewer, 200, account=None, form={"roles": []}, errors={})


@router.post("/quan-tri/nguoi-dung/moi", response_class=HTMLResponse)
async def person_add(request: Request) -> Response:
    viewer = _operator(request)
    data = await request.form()
    check_csrf(request, str(data.get("csrf_token") or ""))
    form = _person_form(data)
    account = Account(
        username=form["username"],
        full_name=form["full_name"],
        position=form["position"] or None,
        roles=form["roles"],
        agency_id=form["agency_id"] or None,
        head=form["head"] or None,
        must_change_password=True,
    )
    errors: dict[str, str] = {}
    if not form["password"]:
        errors["password"] = "Ghi mật khẩu tạm để báo cho người dùng; họ phải đổi khi đăng nhập lần đầu."
    else:
        try:
            await request.app.state.accounts.add(account, form["password"], request.app.state.clock.now())
        except AccountError as exc:
            errors[exc.field] = exc.message_vi
    if errors:
        return await _person_page(request, viewer, 422, account=None, form=form, errors=errors)
    return redirect(f"/quan-tri/nguoi-dung?da-them={quote(account.username)}")


async def _account(request: Request, username: str) -> Account:
    account = await request.app.state.accounts.get(username) if USERNAME.match(username) else None
    if account is None:
        raise ServiceError(404, "account_not_found", f"Không có người dùng {username}.")
    return account


def _form_of(account: Account) -> dict[str, Any]:
    return {
        "username": account.username,
        "full_name": account.full_name,
        "position": account.position or "",
        "roles": list(account.roles),
        "agency_id": account.agency_id or "",
        "head": account.head or "",
    }


@router.get("/quan-tri/nguoi-dung/{username}", response_class=HTMLResponse)
async def person(request: Request, username: str) -> Response:
    viewer = _operator(request)
    account = await _account(request, username)
    return await _person_page(request, viewer, 200, account=account, form=_form_of(account), errors={})


@router.post("/quan-tri/nguoi-dung/{username}", response_class=HTMLResponse)
async def person_save(request: Request, username: str) -> Response:
    viewer = _operator(request)
    data = await request.form()
    check_csrf(request, str(data.get("csrf_token") or ""))
    account = await _account(request, username)
    form = {**_person_form(data), "username": account.username}
    changed = Account(
        username=account.username,
        full_name=form["full_name"],
        position=form["position"] or None,
        roles=form["roles"],
        agency_id=form["agency_id"] or None,
        head=form["head"] or None,
    )
    errors: dict[str, str] = {}
    try:
        changed.check()
    except AccountError as exc:
        errors[exc.field] = exc.message_vi
    if account.username == viewer.account.username and "operator" not in form["roles"]:
        errors["roles"] = "Không tự bỏ vai trò quản trị của chính mình (nhờ một quản trị khác)."
    if errors:
        return await _person_page(request, viewer, 422, account=account, form=form, errors=errors)
    document = changed.document()
    await request.app.state.accounts.update(
        account.username, {k: document[k] for k in ("full_name", "position", "roles", "agency_id", "head")}
    )
    return redirect(f"/quan-tri/nguoi-dung/{account.username}?da-luu=1")


@router.post("/quan-tri/nguoi-dung/{username}/{action}", response_class=HTMLResponse)
async def person_action(
    request: Request,
    username: str,
    action: str,
    csrf_token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    viewer = _operator(request)
    check_csrf(request, csrf_token)
    account = await _account(request, username)
    state = request.app.state
    own = account.username == viewer.account.username
    if action == "ngung":
        if own:
            raise ServiceError(409, "own_account", "Không tự ngừng tài khoản của chính mình (nhờ một quản trị khác).")
        await state.accounts.update(account.username, {"active": False})
        await state.sessions.close_all(account.username)  # signed out everywhere at once
    elif action == "mo-lai":
        await state.accounts.update(account.username, {"active": True, "failures": 0, "locked_until": None})
    elif action == "dat-lai-mat-khau":
        try:
            await state.accounts.set_password(account.username, password.strip(), must_change=True)
        except AccountError as exc:
            errors = {"password": exc.message_vi}
            form = {**_form_of(account), "password": password}
            return await _person_page(request, viewer, 422, account=account, form=form, errors=errors)
        await state.sessions.close_all(account.username)
    else:
        raise ServiceError(404, "not_found", "Không có thao tác này.")
    return redirect(f"/quan-tri/nguoi-dung/{account.username}?da={action}")


# ---- reports ----------------------------------------------------------------------------------------------


def _period(value: str, request: Request) -> str:
    value = value.strip().upper()
    return value if PERIOD.match(value) else str(today(request).year)


@router.get("/bao-cao", response_class=HTMLResponse)
async def reports(request: Request, ky: str = "") -> Response:
    viewer = require(request, "front", "head", "operator")
    errors: dict[str, str] = {}
    period = ky.strip().upper() or str(today(request).year)
    if not PERIOD.match(period):
        errors["ky"] = (
            "Kỳ báo cáo theo dạng 2026 (năm), 2026-03 (tháng), 2026-Q1 (quý), 2026-6M, 2026-9M, hoặc một khoảng ngày "
            "2026-03-01..2026-05-15."
        )
        return render(
            request,
            "reports.html.j2",
            422,
            title="Báo cáo",
            period=ky,
            report=None,
            errors=errors,
            formats=REPORT_FORMATS,
        )
    try:
        report = await backend(request).get("assignment", "/api/v1/reports", person=viewer.person(), period=period)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        return render(
            request,
            "reports.html.j2",
            422,
            title="Báo cáo",
            period=period,
            report=None,
            errors={"ky": exc.message_vi},
            formats=REPORT_FORMATS,
        )
    return render(
        request,
        "reports.html.j2",
        title=report["title"],
        period=period,
        report=report,
        errors=errors,
        formats=REPORT_FORMATS,
        fields=FIELDS,
        heads={h.value: h.label for h in Head},
    )


@router.get("/bao-cao/{period}.{fmt}")
async def report_file(request: Request, period: str, fmt: str) -> Response:
    viewer = require(request, "front", "head", "operator")
    if fmt not in (*REPORT_FORMATS, "html") or not PERIOD.match(period.upper()):
        raise ServiceError(404, "not_found", "Không có báo cáo này.")
    response = await backend(request).call(
        "assignment", "GET", "/api/v1/reports", person=viewer.person(), params={"period": period.upper(), "format": fmt}
    )
    if fmt == "html":  # the printable report with its charts, framed in the reports page
        return HTMLResponse(
            response.text, headers={"Content-Security-Policy": DOCUMENT_CSP, "X-Frame-Options": "SAMEORIGIN"}
        )
    name = f"bao-cao-{period.upper()}.{fmt}"
    disposition = response.headers.get("content-disposition") or f'attachment; filename="{name}"'
    return Response(
        response.content,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        headers={"Content-Disposition": disposition},
    )


@router.post("/bao-cao/gui-len", response_class=HTMLResponse)
async def report_up(
    request: Request, csrf_token: Annotated[str, Form()] = "", ky: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    viewer = _operator(request)
    check_csrf(request, csrf_token)
    period = _period(ky, request)
    try:
        await backend(request).post("assignment", "/api/v1/summary/report", person=viewer.person(), period=period)
    except ServiceError as exc:
        if exc.status != 409:
            raise
        return redirect(f"/bao-cao?ky={period}&gui-len=khong")
    return redirect(f"/bao-cao?ky={period}&gui-len=da-gui")


# ---- dead letters and health ----------------------------------------------------------------------------


async def _each(request: Request, viewer: Viewer, path: str, **params: Any) -> dict[str, Any]:
    """Ask every service; a service down is None in the answer, not an error page."""

    async def one(service: str) -> Any:
        try:
            return await backend(request).get(service, path, person=viewer.person(), **params)
        except ServiceDown:
            return None

    found = await asyncio.gather(*(one(s) for s in SERVICES))
    return dict(zip(SERVICES, found, strict=True))


@router.get("/quan-tri/thu-chet", response_class=HTMLResponse)
async def dead_letters(request: Request) -> Response:
    viewer = _operator(request)
    found = await _each(request, viewer, "/api/v1/dead-letters", sample=3)
    return render(
        request,
        "dead_letters.html.j2",
        title="Thư chết",
        found=found,
        names=SERVICE_NAMES_VI,
        refused=request.query_params.get("khong-gui-lai"),
    )


@router.post("/quan-tri/thu-chet/{service}/{queue}", response_class=HTMLResponse)
async def replay(request: Request, service: str, queue: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    viewer = _operator(request)
    check_csrf(request, csrf_token)
    if service not in SERVICES:
        raise ServiceError(404, "not_found", f"Không có dịch vụ {service}.")
    try:
        moved = await backend(request).post(
            service, f"/api/v1/dead-letters/{quote(queue, safe='')}/replay", person=viewer.person()
        )
    except ServiceError as exc:
        if exc.status != 409:
            raise
        return render(request, "error.html.j2", 409, title="Không gửi lại được từ đây", message=exc.message_vi)
    return redirect(f"/quan-tri/thu-chet?da-gui-lai={moved['moved']}&hang-doi={quote(queue, safe='')}")


@router.get("/quan-tri/he-thong", response_class=HTMLResponse)
async def system(request: Request) -> Response:
    viewer = _operator(request)
    statuses = await _each(request, viewer, "/api/v1/status")
    ready = dict(zip(SERVICES, await asyncio.gather(*(backend(request).ready(s) for s in SERVICES)), strict=True))
    return render(
        request,
        "system.html.j2",
        title="Tình trạng hệ thống",
        statuses=statuses,
        ready=ready,
        names=SERVICE_NAMES_VI,
        urls=backend(request).urls,
    )
