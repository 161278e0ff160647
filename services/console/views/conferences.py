"""The secretary's pages: the year's conferences, the plan form, the live conference screen (moves,
agenda by head and field, recording a direct opinion in seconds, each opinion's outcome), the minutes
and conclusion notices (viewed and downloaded through the console), and a head's dossier."""

from __future__ import annotations

import asyncio
import html
import re
import secrets
from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.backend import ServiceError
from services.console.views.opinions import (
    CODE,
    DATE_HINT,
    STAFF,
    backend,
    conferences_of,
    field_errors,
    lines,
    outcome_form,
    parse_date,
    parse_time,
    posted,
    record_outcome,
    today,
)
from services.console.web import Viewer, check_csrf, redirect, render, require
from shared.events import FIELDS, Head

router = APIRouter()

EVERYONE = (*STAFF, "head", "agency")
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
CONFERENCE_ID = re.compile(r"^HN-\d{4}-[0-9A-Z]{5}$")
DOCUMENT_ID = re.compile(r"^HN-\d{4}-[0-9A-Z]{5}-[A-Za-z0-9-]{2,100}$")
# What each state allows, in the order a conference lives (scheduling enforces it; these are the buttons).
MOVES: dict[str, list[str]] = {
    "planned": ["announce", "postpone", "cancel"],
    "announced": ["open", "postpone", "cancel"],
    "open": ["close"],
    "closed": ["conclude"],
    "postponed": ["reschedule", "cancel"],
    "concluded": [],
    "cancelled": [],
}
MOVE_LABELS = {
    "announce": "Thông báo hội nghị",
    "open": "Khai mạc",
    "close": "Bế mạc",
    "conclude": "Ban hành kết luận và biên bản",
    "postpone": "Hoãn",
    "cancel": "Hủy hội nghị",
    "reschedule": "Dời lịch",
}
NEEDS_REASON = ("postpone", "cancel", "reschedule")
DONE = {
    "announce": "Đã thông báo hội nghị; giấy mời và thông báo đã được gửi.",
    "open": "Hội nghị đã khai mạc. Ghi ý kiến phát biểu trực tiếp ở ô bên dưới.",
    "close": "Hội nghị đã bế mạc. Kiểm tra kết quả từng ý kiến rồi ban hành kết luận.",
    "conclude": "Đã ban hành kết luận: biên bản và thông báo kết luận đang được lập và gửi cơ quan.",
    "postpone": "Đã hoãn hội nghị.",
    "cancel": "Đã hủy hội nghị.",
    "reschedule": "Đã dời lịch hội nghị.",
    "lap-lai-du": "Đã lập lại các văn bản còn thiếu; văn bản của hội nghị đã đủ.",
    "lap-lai-thieu": "Vẫn còn văn bản chưa lập được; xem lý do bên dưới, khắc phục rồi lập lại.",
}
HOLD_ACTIONS = ["tai-cho", "hen-van-ban", "ngoai-noi-dung", "khieu-nai", "vuot-tham-quyen"]


def _conference_id(value: str) -> str:
    value = value.strip().upper()
    if not CONFERENCE_ID.match(value):
        raise ServiceError(404, "conference_not_found", f"Không có hội nghị mã {value}.")
    return value


# ---- the year's conferences and the plan form ---------------------------------------------------------


@router.get("/hoi-nghi", response_class=HTMLResponse)
async def conferences(request: Request, nam: str = "") -> Response:
    viewer = require(request, *STAFF, "head")
    year = int(nam) if nam.isdigit() and 2000 <= int(nam) <= 2100 else today(request).year
    items = await conferences_of(request, viewer, year)
    return render(request, "conferences.html.j2", title=f"Hội nghị đối thoại năm {year}", year=year, items=items)


PLAN_FIELDS = {
    "title": "Tên hội nghị",
    "date": "Ngày họp",
    "time": "Giờ họp",
    "venue": "Địa điểm",
    "chairs": "Người đứng đầu chủ trì",
    "secretary": "Thư ký hội nghị",
    "expected_attendance": "Số người dự kiến",
    "participant_groups": "Thành phần tham dự",
    "topics": "Nội dung chính",
    "complete_by": "Hạn hoàn thành do cấp trên giao",
    "urgent_reason": "Lý do họp khẩn",
    "invitees": "Người được mời",
}


def _plan_page(request: Request, status: int, form: dict[str, Any], errors: dict[str, str]) -> Response:
    return render(
        request,
        "conference_new.html.j2",
        status,
        title="Lập kế hoạch hội nghị",
        form=form,
        errors=errors,
        labels=PLAN_FIELDS,
    )


@router.get("/hoi-nghi/moi", response_class=HTMLResponse)
async def plan_form(request: Request) -> Response:
    viewer = require(request, *STAFF)
    form = {"chairs": [h.value for h in Head], "time": "08:00"}
    if "secretary" in viewer.roles:
        form["secretary"] = viewer.account.full_name
    return _plan_page(request, 200, form, {})


def _invitees(text: str, errors: dict[str, str]) -> list[dict[str, str]]:
    """One invitee a line: name; email; group (email and group may be left out)."""
    found = []
    for n, line in enumerate(lines(text), 1):
        parts = [p.strip() for p in re.split(r"[;|\t]", line)]
        invitee = {"name": parts[0]}
        for part in parts[1:]:
            if "@" in part:
                invitee["email"] = part
            elif part:
                invitee["group"] = part
        if not invitee["name"]:
            errors["invitees"] = f"Dòng {n}: thiếu họ tên người được mời."
        found.append(invitee)
    return found


@router.post("/hoi-nghi/moi", response_class=HTMLResponse)
async def plan(request: Request) -> Response:
    viewer = require(request, *STAFF)
    data = await request.form()
    check_csrf(request, str(data.get("csrf_token") or ""))
    form: dict[str, Any] = {k: str(data.get(k) or "").strip() for k in (*PLAN_FIELDS, "urgent")}
    form["chairs"] = [str(c) for c in data.getlist("chairs")]
    errors: dict[str, str] = {}
    if not form["title"]:
        errors["title"] = "Ghi tên hội nghị."
    if not form["venue"]:
        errors["venue"] = "Ghi địa điểm họp, ví dụ: Nhà văn hóa tổ dân phố số 5."
    heads = {h.value for h in Head}
    if not form["chairs"] or set(form["chairs"]) - heads:
        errors["chairs"] = "Chọn ít nhất một người đứng đầu chủ trì."
    starts_at = None
    try:
        day = parse_date(form["date"])
    except ValueError:
        errors["date"] = "Ghi ngày họp. " + DATE_HINT
    try:
        hour, minute = parse_time(form["time"])
    except ValueError:
        errors["time"] = "Ghi giờ họp theo dạng giờ:phút, ví dụ 08:00."
    if "date" not in errors and "time" not in errors:
        starts_at = f"{day.isoformat()}T{hour:02d}:{minute:02d}"
    body: dict[str, Any] = {
        "title": form["title"],
        "starts_at": starts_at,
        "venue": form["venue"],
        "chairs": form["chairs"],
        "secretary": form["secretary"] or None,
        "participant_groups": lines(form["participant_groups"]),
        "topics": lines(form["topics"]),
        "urgent": bool(form["urgent"]),
        "urgent_reason": form["urgent_reason"] or None,
        "invitees": _invitees(form["invitees"], errors),
    }
    if form["expected_attendance"]:
        if form["expected_attendance"].replace(".", "").isdigit():
            body["expected_attendance"] = int(form["expected_attendance"].replace(".", ""))
        else:
            errors["expected_attendance"] = "Ghi một số, ví dụ 80."
    if form["complete_by"]:
        try:
            body["complete_by"] = parse_date(form["complete_by"]).isoformat()
        except ValueError:
            errors["complete_by"] = DATE_HINT
    if body["urgent"] and not body["urgent_reason"]:
        errors["urgent_reason"] = "Họp khẩn cần nêu lý do khẩn."
    if errors:
        return _plan_page(request, 422, form, errors)
    try:
        planned = await backend(request).post("scheduling", "/api/v1/conferences", body, person=viewer.person())
    except ServiceError as exc:
        names = {k: k for k in PLAN_FIELDS} | {"starts_at": "date", "invitees": "invitees", "email": "invitees"}
        return _plan_page(request, 422, form, field_errors(exc, names, "title"))
    return redirect(f"/hoi-nghi/{planned['id']}?da-lap=1")


# ---- the live conference screen -----------------------------------------------------------------------


async def _all_pages(fetch: Any, per_page: int) -> list[dict[str, Any]]:
    first = await fetch(1)
    items = list(first["items"])
    pages = (first["total"] + per_page - 1) // per_page
    for rest in await asyncio.gather(*(fetch(n) for n in range(2, min(pages, 20) + 1))):
        items += rest["items"]
    return items


async def agenda(request: Request, viewer: Viewer, conference_id: str) -> list[dict[str, Any]]:
    """The conference's opinions (intake's rows) with where each stands at assignment (`a`)."""
    b, person = backend(request), viewer.person()
    rows, assigned = await asyncio.gather(
        _all_pages(
            lambda n: b.get(
                "intake", "/api/v1/opinions", person=person, conference_id=conference_id, page=n, per_page=100
            ),
            100,
        ),
        _all_pages(
            lambda n: b.get(
                "assignment", "/api/v1/opinions", person=person, conference_id=conference_id, page=n, per_page=200
            ),
            200,
        ),
    )
    by_code = {a["tracking_code"]: a for a in assigned}
    items = [{**row, "a": by_code.get(row["tracking_code"])} for row in rows]
    items.sort(key=lambda o: o["submitted_at"])
    return items


def grouped(items: list[dict[str, Any]]) -> list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]:
    """By the head who must answer, then by field (the order of the glossary); unclassified last."""
    heads: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for o in items:
        heads[o.get("head") or ""][o.get("field") or ""].append(o)
    order = [h.value for h in Head] + [""]
    field_order = [*FIELDS, ""]
    return [(head, [(f, heads[head][f]) for f in field_order if f in heads[head]]) for head in order if head in heads]


async def _conference_page(
    request: Request,
    viewer: Viewer,
    conference_id: str,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    open_code: str | None = None,
    open_action: str | None = None,
) -> Response:
    b, person = backend(request), viewer.person()
    conference, items, documents = await asyncio.gather(
        b.get("scheduling", f"/api/v1/conferences/{conference_id}", person=person),
        agenda(request, viewer, conference_id),
        b.get("assignment", f"/api/v1/conferences/{conference_id}/documents", person=person),
    )
    supervision = None
    if conference["status"] == "concluded":
        supervision = await b.get("assignment", f"/api/v1/conferences/{conference_id}/supervision", person=person)
    direct = [o for o in items if o["channel"] == "direct"]
    return render(
        request,
        "conference.html.j2",
        status,
        title=conference["title"],
        c=conference,
        items=items,
        groups=grouped(items),
        direct_count=len(direct),
        documents=documents,
        supervision=supervision,
        moves=MOVES.get(conference["status"], []),
        move_labels=MOVE_LABELS,
        needs_reason=NEEDS_REASON,
        done=DONE,
        errors=errors or {},
        form=form or {},
        open_code=open_code,
        open_action=open_action,
        hold_actions=HOLD_ACTIONS,
        phieu=secrets.token_urlsafe(16),
    )


@router.get("/hoi-nghi/{conference_id}", response_class=HTMLResponse)
async def conference(request: Request, conference_id: str) -> Response:
    viewer = require(request, *STAFF, "head")  # heads read it; only staff see the controls
    return await _conference_page(request, viewer, _conference_id(conference_id))


@router.post("/hoi-nghi/{conference_id}/chuyen", response_class=HTMLResponse)
async def move(
    request: Request,
    conference_id: str,
    csrf_token: Annotated[str, Form()] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    date: Annotated[str, Form(max_length=20)] = "",
    time: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    viewer = require(request, *STAFF)
    check_csrf(request, csrf_token)
    conference_id = _conference_id(conference_id)
    errors: dict[str, str] = {}
    prefix = f"chuyen-{action}"
    body: dict[str, Any] = {}
    if action not in MOVE_LABELS:
        errors["chuyen"] = "Không có thao tác này."
    elif action in NEEDS_REASON and not reason.strip():
        errors[f"{prefix}-reason"] = f"Ghi lý do {MOVE_LABELS[action].lower()}."
    if action in NEEDS_REASON:
        body["reason"] = reason.strip()
    if action == "reschedule":
        try:
            day = parse_date(date)
            hour, minute = parse_time(time)
            body["starts_at"] = f"{day.isoformat()}T{hour:02d}:{minute:02d}"
        except ValueError:
            errors[f"{prefix}-date"] = "Ghi ngày và giờ họp mới, ví dụ 30/11/2026 và 08:00."
    if not errors:
        try:
            await backend(request).post(
                "scheduling", f"/api/v1/conferences/{conference_id}/{action}", body or None, person=viewer.person()
            )
            # No #fragment: a page with one does not autofocus, and the opinion box should have the focus.
            return redirect(f"/hoi-nghi/{conference_id}?da={action}")
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            names = {"reason": f"{prefix}-reason", "starts_at": f"{prefix}-date"}
            errors = field_errors(exc, names, "chuyen")
    form = {f"{prefix}-reason": reason, f"{prefix}-date": date, f"{prefix}-time": time}
    return await _conference_page(
        request, viewer, conference_id, 409 if "chuyen" in errors else 422, errors=errors, form=form, open_action=action
    )


@router.post("/hoi-nghi/{conference_id}/y-kien", response_class=HTMLResponse)
async def record_direct(
    request: Request,
    conference_id: str,
    csrf_token: Annotated[str, Form()] = "",
    phieu: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=6000)] = "",
    speaker: Annotated[str, Form(max_length=200)] = "",
    field: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    viewer = require(request, *STAFF)
    check_csrf(request, csrf_token)
    conference_id = _conference_id(conference_id)
    form = {"direct-text": text, "direct-speaker": speaker, "direct-field": field}
    errors: dict[str, str] = {}
    if not text.strip():
        errors["direct-text"] = "Ghi nội dung ý kiến phát biểu."
    elif len(text) > 5000:
        errors["direct-text"] = f"Nội dung dài tối đa 5.000 ký tự (đang có {len(text)})."
    if field and field not in FIELDS:
        errors["direct-field"] = "Chọn một lĩnh vực trong danh sách, hoặc để trống."
    if not errors:
        body: dict[str, Any] = {"text": text.strip(), "channel": "direct", "conference_id": conference_id}
        if field:
            body["field"] = field
        if speaker.strip():
            body["citizen"] = {"name": speaker.strip()}
        key = f"hoi-nghi:{viewer.account.username}:{phieu}" if phieu else None
        try:
            accepted = await backend(request).post(
                "intake",
                "/api/v1/opinions",
                body,
                person=viewer.person(),
                headers={"Idempotency-Key": key} if key else None,
            )
            return redirect(f"/hoi-nghi/{conference_id}?vua-ghi={accepted['tracking_code']}")
        except ServiceError as exc:
            names = {"text": "direct-text", "field": "direct-field", "name": "direct-speaker"}
            errors = field_errors(exc, names, "direct-text")
    return await _conference_page(request, viewer, conference_id, 422, errors=errors, form=form)


@router.post("/hoi-nghi/{conference_id}/y-kien/{code}/{action}", response_class=HTMLResponse)
async def outcome(request: Request, conference_id: str, code: str, action: str) -> Response:
    viewer = require(request, *STAFF)
    form = await posted(request)
    check_csrf(request, form.get("csrf_token"))
    conference_id, code = _conference_id(conference_id), code.strip().upper()
    if action not in HOLD_ACTIONS or not CODE.match(code):
        raise ServiceError(404, "not_found", "Không có thao tác này.")
    errors = await record_outcome(request, viewer, code, action, form)
    if errors:
        values = {f"{code}-{action}-{k}": v for k, v in outcome_form(form).items()}
        return await _conference_page(
            request, viewer, conference_id, 422, errors=errors, form=values, open_code=code, open_action=action
        )
    return redirect(f"/hoi-nghi/{conference_id}?da-ghi={code}#y-{code}")


@router.post("/hoi-nghi/{conference_id}/nhiem-vu/{code}", response_class=HTMLResponse)
async def conclusion_task(
    request: Request,
    conference_id: str,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    task: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The task the heads' conclusion gives the agency for one opinion, as the secretary words it (printed in
    the conclusion notice instead of a bare "trả lời bằng văn bản")."""
    viewer = require(request, *STAFF)
    check_csrf(request, csrf_token)
    conference_id, code = _conference_id(conference_id), code.strip().upper()
    if not CODE.match(code):
        raise ServiceError(404, "not_found", "Không có ý kiến này.")
    field = f"{code}-nhiem-vu-task"
    if len(task.strip()) < 3:
        errors = {field: "Ghi nhiệm vụ giao cơ quan, ví dụ: Khảo sát, sửa chữa mặt đường ngõ 12 trong quý II."}
    else:
        try:
            await backend(request).put("assignment", f"/api/v1/conferences/{conference_id}/conclusions/{code}",
                                       {"task": task.strip()}, person=viewer.person())  # fmt: skip
            return redirect(f"/hoi-nghi/{conference_id}?da-ghi={code}#y-{code}")
        except ServiceError as exc:
            if exc.status == 403:
                raise
            errors = field_errors(exc, {"task": field}, field)
    return await _conference_page(request, viewer, conference_id, 422, errors=errors, form={field: task},
                                  open_code=code, open_action="nhiem-vu")  # fmt: skip


@router.post("/hoi-nghi/{conference_id}/van-ban/lap-lai", response_class=HTMLResponse)
async def retry_documents(request: Request, conference_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Make again what could not be made, once the cause is fixed (the secretary, the operator)."""
    viewer = require(request, "secretary", "operator")
    check_csrf(request, csrf_token)
    conference_id = _conference_id(conference_id)
    documents = await backend(request).post(
        "assignment", f"/api/v1/conferences/{conference_id}/documents/retry", person=viewer.person()
    )
    done = "lap-lai-du" if all(d["status"] == "issued" for d in documents) else "lap-lai-thieu"
    return redirect(f"/hoi-nghi/{conference_id}?da={done}#van-ban")


PAPERS = {"ke-hoach": "plan", "thong-bao": "announcement", "giay-moi": "invitation"}


@router.get("/hoi-nghi/{conference_id}/giay-to/{paper}")
async def conference_paper(request: Request, conference_id: str, paper: str) -> Response:
    """The plan, the public announcement or the invitation: numbered when first asked for, then shown."""
    viewer = require(request, *STAFF, "head")
    conference_id = _conference_id(conference_id)
    if paper not in PAPERS:
        raise ServiceError(404, "not_found", "Không có loại giấy tờ này.")
    doc = await backend(request).get(
        "assignment", f"/api/v1/conferences/{conference_id}/{PAPERS[paper]}", person=viewer.person()
    )
    return redirect(f"/van-ban/{doc['id']}")


# ---- documents: the minutes and conclusion notices, through the console -----------------------------

# The documents are assignment's HTML (their own print styles inline): shown framed, with no script at all.
DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _document_id(value: str) -> str:
    if not DOCUMENT_ID.match(value):
        raise ServiceError(404, "document_not_found", f"Không có văn bản {value}.")
    return value


DOWNLOADS = {  # what a document is downloaded as: to print (PDF) or to edit before signing (DOCX)
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


async def _download(request: Request, document_id: str, extension: str) -> Response:
    viewer = require(request, *EVERYONE)
    document_id = _document_id(document_id)
    response = await backend(request).call(
        "assignment", "GET", f"/api/v1/documents/{document_id}.{extension}", person=viewer.person()
    )
    return Response(
        response.content,
        media_type=DOWNLOADS[extension],
        headers={"Content-Disposition": f'attachment; filename="{document_id}.{extension}"'},
    )


@router.get("/van-ban/{document_id}.pdf")
async def document_pdf(request: Request, document_id: str) -> Response:
    return await _download(request, document_id, "pdf")


@router.get("/van-ban/{document_id}.docx")
async def document_docx(request: Request, document_id: str) -> Response:
    return await _download(request, document_id, "docx")


@router.get("/van-ban/{document_id}/noi-dung", response_class=HTMLResponse)
async def document_body(request: Request, document_id: str) -> Response:
    viewer = require(request, *EVERYONE)
    document_id = _document_id(document_id)
    response = await backend(request).call(
        "assignment", "GET", f"/api/v1/documents/{document_id}", person=viewer.person()
    )
    return HTMLResponse(
        response.text,
        headers={"Content-Security-Policy": DOCUMENT_CSP, "X-Frame-Options": "SAMEORIGIN"},
    )


@router.get("/van-ban/{document_id}", response_class=HTMLResponse)
async def document(request: Request, document_id: str) -> Response:
    viewer = require(request, *EVERYONE)
    document_id = _document_id(document_id)
    # Read it once here, so that a document of another agency gives its 403 page, not a framed error.
    try:
        response = await backend(request).call(
            "assignment", "GET", f"/api/v1/documents/{document_id}", person=viewer.person()
        )
    except ServiceError as exc:
        if exc.status != 403:
            raise
        title = "Văn bản này không gửi cơ quan của bạn"
        return render(request, "error.html.j2", 403, title=title, message=exc.message_vi)
    conference_id = document_id[:13]
    found = TITLE.search(response.text)
    heading = html.unescape(found.group(1)).strip() if found else "Văn bản"
    return render(
        request,
        "document.html.j2",
        title=heading,
        heading=heading,
        document_id=document_id,
        conference_id=conference_id,
        staff=viewer.has(*STAFF, "head"),  # back to the conference; an agency back to its inbox
    )


# ---- a head's dossier ----------------------------------------------------------------------------------


@router.get("/ho-so", response_class=HTMLResponse)
async def dossier(request: Request) -> Response:
    viewer = require(request, "head")
    head = viewer.account.head or ""
    b, person = backend(request), viewer.person()
    year = today(request).year
    conferences = await conferences_of(request, viewer, year - 1, year, year + 1)
    # Opinions are addressed to a head whether or not they chair: every conference counts.
    upcoming = [c for c in conferences if c["status"] in ("planned", "announced", "open")][:3]
    held = [c for c in reversed(conferences) if c["status"] in ("closed", "concluded")][:3]

    async def of(c: dict[str, Any]) -> list[dict[str, Any]]:
        page = await b.get(
            "assignment", "/api/v1/opinions", person=person, conference_id=c["id"], head=head, per_page=200
        )
        return page["items"]

    waiting, *per_conference = await asyncio.gather(
        b.get("assignment", "/api/v1/opinions", person=person, head=head, status="assigned", per_page=50),
        *(of(c) for c in upcoming + held),
    )
    now = request.app.state.clock.now()
    for a in waiting["items"]:
        a["overdue"] = bool(a["due_at"]) and datetime.fromisoformat(a["due_at"]) < now
    before = [(c, _by_field(items)) for c, items in zip(upcoming, per_conference[: len(upcoming)], strict=True)]
    after = [(c, items) for c, items in zip(held, per_conference[len(upcoming) :], strict=True)]
    return render(
        request,
        "dossier.html.j2",
        title="Hồ sơ của tôi",
        head=head,
        head_label=Head(head).label if head else "",
        before=before,
        after=after,
        waiting=waiting,
    )


def _by_field(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        if item["status"] != "redirected":
            groups[item["field"]].append(item)
    return [(f, groups[f]) for f in FIELDS if f in groups]
