"""An agency's pages: the inbox of what is addressed to the person's agency (waiting, due soon, overdue,
answered), one item with its deadline and history, confirming receipt, and the written answer.

The services decide what an agency may reach: another agency's item is refused with 403 `other_agency`,
shown here as a clear page with the service's own message. The notice links in our mails point to
`/hop-thu/<code>` and land there after sign-in.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.console.backend import ServiceError
from services.console.views.opinions import (
    CODE,
    PER_PAGE,
    backend,
    opinion_parts,
    outcome_form,
    page_number,
    posted,
    record_outcome,
)
from services.console.views.public import MAX_PHOTO_BYTES
from services.console.web import Viewer, check_csrf, redirect, render, require

router = APIRouter()

# tab → (label, what assignment's list is asked)
TABS: dict[str, tuple[str, dict[str, str]]] = {
    "cho-tra-loi": ("Mới và chờ trả lời", {"status": "assigned"}),
    "sap-den-han": ("Sắp đến hạn (7 ngày)", {"due": "soon"}),
    "qua-han": ("Quá hạn", {"due": "overdue"}),
    "da-tra-loi": ("Đã trả lời", {"status": "answered"}),
}


def _agency_viewer(request: Request) -> Viewer:
    viewer = require(request, "agency")
    return viewer


def _forbidden_page(request: Request, exc: ServiceError) -> Response:
    return render(
        request, "error.html.j2", 403, title="Việc này không giao cho cơ quan của bạn", message=exc.message_vi
    )


@router.get("/hop-thu", response_class=HTMLResponse)
async def inbox(request: Request) -> Response:
    viewer = _agency_viewer(request)
    tab = request.query_params.get("tab", "cho-tra-loi")
    tab = tab if tab in TABS else "cho-tra-loi"
    page = page_number(request.query_params.get("trang"))
    b, person = backend(request), viewer.person()

    def listing(key: str, n: int, per_page: int) -> Any:
        return b.get("assignment", "/api/v1/opinions", person=person, page=n, per_page=per_page, **TABS[key][1])

    # The tab's page, each tab's count (one item each), and what has not been confirmed yet.
    current, unconfirmed, *counts = await asyncio.gather(
        listing(tab, page, PER_PAGE),
        b.get("notification", "/api/v1/notifications", person=person, status="sent"),
        *(listing(key, 1, 1) for key in TABS if key != tab),
    )
    totals = dict(zip([k for k in TABS if k != tab], (c["total"] for c in counts), strict=True))
    totals[tab] = current["total"]
    waiting = {n["tracking_code"] for n in unconfirmed if n.get("tracking_code")}
    notices = [n for n in unconfirmed if not n.get("tracking_code")]
    now = request.app.state.clock.now()
    for item in current["items"]:
        item["overdue"] = item["status"] == "assigned" and bool(item["due_at"]) and _moment(item["due_at"]) < now
        item["unconfirmed"] = item["tracking_code"] in waiting
    return render(
        request,
        "inbox.html.j2",
        title="Hộp thư cơ quan",
        tabs=TABS,
        tab=tab,
        totals=totals,
        results=current,
        page=page,
        per_page=PER_PAGE,
        notices=notices,
        agency_name=viewer.account.position or viewer.account.agency_id,
    )


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _item_page(
    request: Request,
    viewer: Viewer,
    code: str,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    code = code.strip().upper()
    if not CODE.match(code):
        return render(request, "error.html.j2", 404, title="Không tìm thấy", message=f"Mã {code} không đúng dạng.")
    try:
        # The assignment first: it is what says whether this agency may see the item at all.
        assignment = await backend(request).get("assignment", f"/api/v1/opinions/{code}", person=viewer.person())
    except ServiceError as exc:
        if exc.status == 403:
            return _forbidden_page(request, exc)
        if exc.status == 404:
            return render(request, "error.html.j2", 404, title="Không tìm thấy", message=exc.message_vi)
        raise
    parts = await opinion_parts(request, viewer, code)
    parts["assignment"] = parts["assignment"] or assignment
    pending = [n for n in parts["notifications"] if n["status"] == "sent" and n["recipient_kind"] == "agency"]
    return render(
        request,
        "inbox_item.html.j2",
        status,
        title=f"Việc {code}",
        code=code,
        **parts,
        pending=pending,
        errors=errors or {},
        form=form or {},
    )


@router.get("/hop-thu/{code}", response_class=HTMLResponse)
async def item(request: Request, code: str) -> Response:
    viewer = _agency_viewer(request)
    return await _item_page(request, viewer, code)


@router.post("/hop-thu/{code}/xac-nhan", response_class=HTMLResponse)
async def acknowledge(request: Request, code: str) -> Response:
    """Confirm receipt: every notice about this item still waiting for it."""
    viewer = _agency_viewer(request)
    form = await posted(request)
    check_csrf(request, form.get("csrf_token"))
    code = code.strip().upper()
    b, person = backend(request), viewer.person()
    try:
        notes = await b.get("notification", "/api/v1/notifications", person=person, tracking_code=code, status="sent")
        for note in notes:
            if note["recipient_kind"] == "agency":
                await b.post("notification", f"/api/v1/notifications/{note['id']}/acknowledge", person=person)
    except ServiceError as exc:
        if exc.status == 403:
            return _forbidden_page(request, exc)
        raise
    return redirect(f"/hop-thu/{code}?da-xac-nhan=1")


@router.post("/hop-thu/thong-bao/{notification_id}/xac-nhan", response_class=HTMLResponse)
async def acknowledge_notice(request: Request, notification_id: str) -> Response:
    """Confirm receipt of a notice that is not about one item (a conclusion notice)."""
    viewer = _agency_viewer(request)
    form = await posted(request)
    check_csrf(request, form.get("csrf_token"))
    try:
        await backend(request).post(
            "notification", f"/api/v1/notifications/{notification_id[:100]}/acknowledge", person=viewer.person()
        )
    except ServiceError as exc:
        if exc.status == 403:
            return _forbidden_page(request, exc)
        raise
    return redirect("/hop-thu?da-xac-nhan=1")


async def _attach_document(request: Request, viewer: Viewer, code: str, form: dict[str, str]) -> dict[str, str]:
    """The answer's PDF, if one was chosen: attached to the opinion through intake (which checks it) so that the
    answer can name it (`form["document_media_id"]`). Not while the answer itself lacks its text or number: a
    refused answer leaves no file behind."""
    upload = (await request.form()).get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return {}
    if not (form.get("text", "").strip() and form.get("document_number", "").strip()):
        return {}  # record_outcome names what is missing
    field = f"{code}-van-ban-document"
    if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
        return {field: f"Tệp {upload.filename} quá lớn; hãy chọn tệp PDF nhỏ hơn."}
    data = await upload.read()
    if not data.startswith(b"%PDF-"):
        return {field: f"Tệp {upload.filename} không phải văn bản PDF; hãy chọn tệp PDF của văn bản trả lời."}
    try:
        [stored] = await backend(request).upload_media(
            code, [(upload.filename, data, "application/pdf")], person=viewer.person()
        )
    except ServiceError as exc:
        if exc.status == 403:
            raise
        return {field: exc.message_vi}
    form["document_media_id"] = stored["media_id"]
    return {}


@router.post("/hop-thu/{code}/tra-loi", response_class=HTMLResponse)
async def answer(request: Request, code: str) -> Response:
    viewer = _agency_viewer(request)
    form = await posted(request)
    check_csrf(request, form.get("csrf_token"))
    code = code.strip().upper()
    if not CODE.match(code):
        return render(request, "error.html.j2", 404, title="Không tìm thấy", message=f"Mã {code} không đúng dạng.")
    try:
        errors = await _attach_document(request, viewer, code, form)
        errors = errors or await record_outcome(request, viewer, code, "van-ban", form)
    except ServiceError as exc:
        if exc.status == 403:
            return _forbidden_page(request, exc)
        raise
    if errors:
        values = {f"{code}-van-ban-{k}": v for k, v in outcome_form(form).items()}
        return await _item_page(request, viewer, code, 422, errors=errors, form=values)
    return redirect(f"/hop-thu/{code}?da-tra-loi=1")
