"""Front staff's pages: collect opinions before a conference (many in a row), find and filter every
opinion, one opinion as staff see it (with its outcome controls), the supervision board, and the
citizens' requests for reconsideration.

The outcome of an opinion (answered on the spot, written answer promised, off-topic, complaint
redirected, beyond authority, written answer, another agency) is recorded by the same helper here
and on the live conference screen (`views/conferences.py`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from services.console.backend import Backend, ServiceError
from services.console.views.public import media_response
from services.console.web import Viewer, check_csrf, redirect, render, require
from shared.clock import VIETNAM
from shared.events import FIELDS, AnswerKind, Head

router = APIRouter()

STAFF = ("front", "secretary", "operator")
READERS = (*STAFF, "head")
PER_PAGE = 25
STATUS_OPTIONS = [
    ("open", "Đang giải quyết (chưa xong)"),
    ("received", "Đã tiếp nhận"),
    ("classified", "Đã phân loại"),
    ("assigned", "Đã giao cơ quan xử lý"),
    ("escalated", "Đã chuyển lên cấp trên"),
    ("accepted", "Cấp trên đang xử lý"),
    ("redirected", "Chuyển quy trình khiếu nại, tố cáo"),
    ("closed", "Đã trả lời, kết thúc"),
]
SUPERVISION_LABELS = {
    "overdue": "Quá hạn",
    "pending": "Đang thực hiện",
    "answered_late": "Đã trả lời, trễ hạn",
    "answered_on_time": "Đã trả lời đúng hạn",
}
HEADS = {h.value for h in Head}
CODE = re.compile(r"^[A-Z]{2}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


# ---- small helpers every staff page uses --------------------------------------------------------------


def backend(request: Request) -> Backend:
    return request.app.state.backend


def today(request: Request) -> date:
    return request.app.state.clock.now().astimezone(VIETNAM).date()


def page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), 10_000)
    except ValueError:
        return 1


def parse_date(text: str) -> date:
    """A date as a date field sends it (2026-11-30) or as people type it (30/11/2026)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text):
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(text)


def parse_time(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2})[:hg.](\d{2})", text.strip().lower())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(text)
    return int(m.group(1)), int(m.group(2))


DATE_HINT = "Ngày theo dạng ngày/tháng/năm, ví dụ 30/11/2026."


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


async def conferences_of(request: Request, viewer: Viewer, *years: int) -> list[dict[str, Any]]:
    """The conferences of the given years (staff see the full view)."""
    found = await asyncio.gather(
        *(backend(request).get("scheduling", "/api/v1/conferences", person=viewer.person(), year=y) for y in years)
    )
    return sorted((c for year in found for c in year), key=lambda c: c["starts_at"])


def field_errors(exc: ServiceError, names: dict[str, str], fallback: str) -> dict[str, str]:
    """The service's refusal, each message beside the form field it names (`names`: service field →
    form field); what names no field goes to `fallback`."""
    errors: dict[str, str] = {}
    for name, message in exc.for_field().items():
        target = names.get(name) or names.get(name.split(".")[-1]) or fallback
        errors.setdefault(target, message)
    return errors or {fallback: exc.message_vi}


# ---- outcomes: what became of an opinion ---------------------------------------------------------------

# The outcomes of an opinion waiting for an answer (their labels are in _staff.html.j2).
OUTCOMES = ("tai-cho", "hen-van-ban", "ngoai-noi-dung", "khieu-nai", "vuot-tham-quyen", "van-ban", "giao-lai", "gop")


async def record_outcome(
    request: Request, viewer: Viewer, code: str, action: str, form: dict[str, str]
) -> dict[str, str]:
    """Record one outcome through assignment; the errors by form field (`<code>-<action>-<name>`),
    empty when it was recorded."""
    prefix = f"{code}-{action}"
    errors: dict[str, str] = {}

    def need(name: str, message: str) -> str:
        value = form.get(name, "").strip()
        if not value:
            errors[f"{prefix}-{name}"] = message
        return value

    body: dict[str, Any]
    if action == "tai-cho":
        text = need("text", "Ghi nội dung người đứng đầu đã trả lời.")
        head = need("head", "Chọn người đứng đầu đã trả lời.")
        if head and head not in HEADS:
            errors[f"{prefix}-head"] = "Chọn một người đứng đầu trong danh sách."
        path, body = "answer", {"kind": "on_the_spot", "text": text, "head": head}
    elif action in ("hen-van-ban", "ngoai-noi-dung"):
        body = {"off_topic": action == "ngoai-noi-dung"}
        if due := form.get("due_date", "").strip():
            try:
                body["due_date"] = parse_date(due).isoformat()
            except ValueError:
                errors[f"{prefix}-due_date"] = DATE_HINT
        path = "promise"
    elif action == "khieu-nai":
        kind = need("kind", "Chọn khiếu nại hay tố cáo.")
        if kind and kind not in ("complaint", "denunciation"):
            errors[f"{prefix}-kind"] = "Chọn khiếu nại hay tố cáo."
        reason = need("reason", "Ghi vì sao đây là khiếu nại, tố cáo (không phải ý kiến đối thoại).")
        path, body = "redirect", {"kind": kind, "reason": reason}
    elif action == "vuot-tham-quyen":
        reason = need("reason", "Ghi vì sao việc này vượt thẩm quyền của cấp này.")
        path, body = "escalate", {"reason": reason}
    elif action == "van-ban":
        text = need("text", "Ghi nội dung trả lời.")
        number = need("document_number", "Ghi số văn bản trả lời, ví dụ 125/UBND-ĐC.")
        body = {"kind": "written", "text": text, "document_number": number}
        if signer := form.get("answered_by", "").strip():
            body["answered_by"] = signer
        if document := form.get("document_media_id"):  # the PDF just attached (agency pages)
            body["document_media_id"] = document
        path = "answer"
    elif action == "gop":  # the same matter as another open opinion: one item to answer
        into = need("into", "Chọn ý kiến cùng nội dung để gộp vào.").upper()
        path, body = "merge", {"into": into, "reason": form.get("reason", "").strip() or None}
    elif action == "giao-lai":
        agency_id = need("agency_id", "Chọn cơ quan nhận giao.")
        reason = need("reason", "Ghi lý do giao lại.")
        path, body = "reassign", {"agency_id": agency_id, "reason": reason}
    else:
        return {prefix: "Không có thao tác này."}
    if errors:
        return errors
    try:
        await backend(request).post("assignment", f"/api/v1/opinions/{code}/{path}", body, person=viewer.person())
    except ServiceError as exc:
        if exc.status == 403:
            raise
        names = {n: f"{prefix}-{n}" for n in ("text", "head", "due_date", "kind", "reason", "document_number", "into")}
        names["agency_id"] = f"{prefix}-agency_id"
        return field_errors(exc, names, prefix)
    return {}


def outcome_form(form: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in form.items() if k != "csrf_token"}


async def posted(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


# ---- collecting before a conference --------------------------------------------------------------------


def _collectable(conferences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in conferences if c["status"] in ("planned", "announced")]


def _groups(conferences: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for c in conferences:
        for group in c.get("participant_groups") or []:
            seen.setdefault(group, None)
    return list(seen)


async def _collect_page(
    request: Request, viewer: Viewer, status: int, *, form: dict[str, Any], errors: dict[str, str], saved: str | None
) -> Response:
    year = today(request).year
    conferences = _collectable(await conferences_of(request, viewer, year, year + 1))
    conference = form.get("conference", "")
    if conference is None:  # first visit: the next conference
        conference = conferences[0]["id"] if conferences else ""
    recent: dict[str, Any] = {"total": 0, "items": []}
    similar = []
    if saved:  # what was just recorded may be a matter already raised: shown, to merge on its page
        similar = await _optional(backend(request).get("intake", f"/api/v1/opinions/{saved}/similar",
                                                        person=viewer.person())) or []  # fmt: skip
    if conference:
        recent = await backend(request).get(
            "intake",
            "/api/v1/opinions",
            person=viewer.person(),
            conference_id=conference,
            channel="front_collected",
            per_page=10,
        )
    return render(
        request,
        "collect.html.j2",
        status,
        title="Thu thập ý kiến trước hội nghị",
        form={**form, "conference": conference},
        errors=errors,
        conferences=conferences,
        groups=_groups(conferences),
        saved=saved,
        similar=similar,
        recent=recent,
        phieu=secrets.token_urlsafe(16),
    )


@router.get("/y-kien/thu-thap", response_class=HTMLResponse)
async def collect_form(request: Request) -> Response:
    viewer = require(request, *STAFF)
    p = request.query_params
    chosen = p["hoi-nghi"][:64] if "hoi-nghi" in p else None
    form = {"conference": chosen, "place": p.get("to", "")[:200]}
    saved = p.get("vua-ghi", "")[:20]
    return await _collect_page(request, viewer, 200, form=form, errors={}, saved=saved if CODE.match(saved) else None)


@router.post("/y-kien/thu-thap", response_class=HTMLResponse)
async def collect(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    phieu: Annotated[str, Form(max_length=64)] = "",
    conference: Annotated[str, Form(max_length=64)] = "",
    place: Annotated[str, Form(max_length=500)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    field: Annotated[str, Form(max_length=40)] = "",
    text: Annotated[str, Form(max_length=6000)] = "",
) -> Response:
    viewer = require(request, *STAFF)
    check_csrf(request, csrf_token)
    form = {"conference": conference, "place": place, "name": name, "field": field, "text": text}
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = "Ghi nội dung ý kiến, kiến nghị."
    elif len(text) > 5000:
        errors["text"] = f"Nội dung dài tối đa 5.000 ký tự (đang có {len(text)})."
    if field and field not in FIELDS:
        errors["field"] = "Chọn một lĩnh vực trong danh sách, hoặc để trống."
    if not place.strip():
        errors["place"] = "Ghi tổ dân phố, thôn hoặc nhóm nơi thu thập ý kiến."
    if errors:
        return await _collect_page(request, viewer, 422, form=form, errors=errors, saved=None)
    body: dict[str, Any] = {
        "text": text.strip(),
        "channel": "front_collected",
        "location": {"address": place.strip()},
    }
    if field:
        body["field"] = field
    if name.strip():
        body["citizen"] = {"name": name.strip()}
    if conference:
        body["conference_id"] = conference
    key = f"thu-thap:{viewer.account.username}:{phieu}" if phieu else None  # a second click: the same opinion
    try:
        accepted = await backend(request).post(
            "intake",
            "/api/v1/opinions",
            body,
            person=viewer.person(),
            headers={"Idempotency-Key": key} if key else None,
        )
    except ServiceError as exc:
        names = {"text": "text", "field": "field", "address": "place", "name": "name", "conference_id": "conference"}
        target = "conference" if exc.code.startswith(("conference", "unknown_conference")) else "text"
        return await _collect_page(request, viewer, 422, form=form, errors=field_errors(exc, names, target), saved=None)
    query = f"?vua-ghi={accepted['tracking_code']}&to={_q(place.strip())}&hoi-nghi={_q(conference)}"
    return redirect(f"/y-kien/thu-thap{query}")  # no #fragment: it would stop the autofocus


def _q(value: str) -> str:
    return quote(value, safe="")


# ---- finding opinions ---------------------------------------------------------------------------------


async def _agencies(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    return await backend(request).get("assignment", "/api/v1/agencies", person=viewer.person())


@router.get("/y-kien", response_class=HTMLResponse)
async def search(request: Request) -> Response:
    viewer = require(request, *READERS)
    p = request.query_params
    filters = {
        "q": p.get("q", "").strip()[:200],
        "field": p.get("field", "") if p.get("field", "") in FIELDS else "",
        "head": p.get("head", "") if p.get("head", "") in HEADS else "",
        "status": p.get("status", "") if p.get("status", "") in dict(STATUS_OPTIONS) else "",
        "conference": p.get("conference", "")[:64],
        "agency": p.get("agency", "")[:64],
        "overdue": "1" if p.get("overdue") else "",
    }
    page = page_number(p.get("trang"))
    year = today(request).year
    results, conferences, agencies = await asyncio.gather(
        backend(request).get(
            "intake",
            "/api/v1/opinions",
            person=viewer.person(),
            q=filters["q"],
            field=filters["field"],
            head=filters["head"],
            status=filters["status"],
            conference_id=filters["conference"],
            agency_id=filters["agency"],
            overdue="true" if filters["overdue"] else None,
            page=page,
            per_page=PER_PAGE,
        ),
        conferences_of(request, viewer, year - 1, year),
        _agencies(request, viewer),
    )
    query = "&".join(f"{k}={_q(v)}" for k, v in filters.items() if v)
    return render(
        request,
        "opinions.html.j2",
        title="Tìm ý kiến, kiến nghị",
        filters=filters,
        results=results,
        page=page,
        per_page=PER_PAGE,
        query=query,
        conferences=conferences,
        agencies=agencies,
        status_options=STATUS_OPTIONS,
    )


# ---- one opinion, as staff see it -------------------------------------------------------------------


async def _optional(call: Any) -> Any:
    """A part of the page that may not exist yet (404: not assigned yet)."""
    try:
        return await call
    except ServiceError as exc:
        if exc.status == 404:
            return None
        raise


async def opinion_parts(request: Request, viewer: Viewer, code: str) -> dict[str, Any]:
    b, person = backend(request), viewer.person()
    wants_notifications = viewer.has(*STAFF, "agency")
    opinion, assignment, timers, notifications, similar, media = await asyncio.gather(
        _optional(b.get("intake", f"/api/v1/opinions/{code}", person=person)),
        _optional(b.get("assignment", f"/api/v1/opinions/{code}", person=person)),
        b.get("scheduling", f"/api/v1/opinions/{code}/timers", person=person),
        b.get("notification", "/api/v1/notifications", person=person, tracking_code=code)
        if wants_notifications
        else asyncio.sleep(0, []),
        _optional(b.get("intake", f"/api/v1/opinions/{code}/similar", person=person))
        if viewer.has(*STAFF, "head")
        else asyncio.sleep(0, []),
        _optional(b.media(code, person=person)),
    )
    media_href = f"/theo-doi/{code}/tep/"
    if opinion is None and assignment and assignment.get("came_from"):
        # Sent up from a level below: intake here never received it; this level keeps its copy and its photos.
        opinion = from_below(assignment, request.app.state.clock.now())
        media = await _optional(b.get("assignment", f"/api/v1/opinions/{code}/media", person=person))
        media_href = f"/y-kien/{code}/tep/"
    return {"opinion": opinion, "assignment": assignment, "timers": timers, "notifications": notifications,
            "similar": similar or [], "media": media or [], "media_href": media_href}  # fmt: skip


def from_below(assignment: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The staff page's view of an opinion a level below sent up, from assignment's copy (the citizen and the
    history of its receipt stay where it was received)."""
    a, answer = assignment, assignment.get("answer")
    return {
        "tracking_code": a["tracking_code"], "status": a["status"], "status_label": a["status_label"],
        "overdue": a["status"] == "assigned" and bool(a["due_at"]) and datetime.fromisoformat(a["due_at"]) < now,
        "channel_label": f"Cấp dưới chuyển lên (từ {a['came_from']})", "field_name": a["field_name"],
        "head_label": a["head_label"], "agency": a["agency_name"], "holder": None, "due_at": a["due_at"],
        "submitted_at": a["submitted_at"], "text": a["text"], "history": [],
        "answer": {**answer, "kind_label": AnswerKind(answer["kind"]).label} if answer else None,
    }  # fmt: skip


@router.get("/y-kien/{code}/tep/{media_id}")
async def staff_media_file(request: Request, code: str, media_id: str) -> Response:
    """A photo a level below sent up, to the people of this level who may see its opinion."""
    viewer = require(request, *READERS, "agency")
    return await media_response(request, code, media_id, thumbnail=False, person=viewer.person(), service="assignment")


@router.get("/y-kien/{code}/tep/{media_id}/anh-nho")
async def staff_media_thumbnail(request: Request, code: str, media_id: str) -> Response:
    viewer = require(request, *READERS, "agency")
    return await media_response(request, code, media_id, thumbnail=True, person=viewer.person(), service="assignment")


async def _opinion_page(
    request: Request,
    viewer: Viewer,
    code: str,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    open_action: str | None = None,
) -> Response:
    code = code.strip().upper()
    if not CODE.match(code):
        return render(request, "error.html.j2", 404, title="Không tìm thấy", message=f"Mã {code} không đúng dạng.")
    parts = await opinion_parts(request, viewer, code)
    if parts["opinion"] is None:
        return render(
            request, "error.html.j2", 404, title="Không tìm thấy", message=f"Không có ý kiến nào mang mã {code}."
        )
    agencies = await _agencies(request, viewer) if viewer.has(*STAFF) else []
    return render(
        request,
        "opinion.html.j2",
        status,
        title=f"Ý kiến {code}",
        code=code,
        **parts,
        agencies=agencies,
        errors=errors or {},
        form=form or {},
        open_action=open_action,
    )


@router.get("/y-kien/{code}", response_class=HTMLResponse)
async def opinion(request: Request, code: str) -> Response:
    viewer = require(request, *READERS)
    return await _opinion_page(request, viewer, code)


@router.post("/y-kien/{code}/{action}", response_class=HTMLResponse)
async def opinion_outcome(request: Request, code: str, action: str) -> Response:
    viewer = require(request, *STAFF)
    form = await posted(request)
    check_csrf(request, form.get("csrf_token"))
    code = code.strip().upper()
    if action not in OUTCOMES or not CODE.match(code):
        return render(request, "error.html.j2", 404, title="Không tìm thấy", message="Không có thao tác này.")
    errors = await record_outcome(request, viewer, code, action, form)
    if errors:
        values = {f"{code}-{action}-{k}": v for k, v in outcome_form(form).items()}
        return await _opinion_page(request, viewer, code, 422, errors=errors, form=values, open_action=action)
    return redirect(f"/y-kien/{code}?da-ghi={action}")


# ---- supervision and reconsideration ------------------------------------------------------------------


@router.get("/giam-sat", response_class=HTMLResponse)
async def supervision(request: Request) -> Response:
    viewer = require(request, *READERS)
    board = await backend(request).get("assignment", "/api/v1/supervision", person=viewer.person(), limit=500)
    return render(
        request,
        "supervision.html.j2",
        title="Giám sát thực hiện kết luận",
        board=board,
        labels=SUPERVISION_LABELS,
    )


@router.get("/tai-xem-xet", response_class=HTMLResponse)
async def reconsideration(request: Request, trang: str = "1") -> Response:
    viewer = require(request, "front", "operator")
    page = page_number(trang)
    results = await backend(request).get(
        "intake", "/api/v1/opinions", person=viewer.person(), feedback="unsatisfied", page=page, per_page=PER_PAGE
    )
    return render(
        request,
        "reconsider.html.j2",
        title="Đề nghị xem xét lại",
        results=results,
        page=page,
        per_page=PER_PAGE,
        query="",
    )
