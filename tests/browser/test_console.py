"""The dialogue process in a real browser (Debian's Chromium), on the ward's real processes: a citizen,
the Front, a secretary running a conference, a head, an agency answering from its inbox, an operator;
and what the console refuses (locked accounts, forms without their token, another agency's item).

Every page visited is saved as a full-page screenshot under var/screenshots/ for review.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from shared.clock import VIETNAM
from tests.browser.conftest import People, screenshot, sign_in
from tests.browser.stack import Ward
from tests.conftest import agency_key

pytestmark = pytest.mark.e2e

CODE = re.compile(r"YK-[0-9A-Z]{4}-[0-9A-Z]{4}")
OPERATOR = {"X-API-Key": "operator-key"}


def nfc(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)
    return result


def has_focus(page: Page, element_id: str) -> None:
    """Wait until the element has the focus (checked in the page: it may not be the browser's active one)."""
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id)


def reload_until(page: Page, selector: str, what: str, timeout: float = 20.0) -> None:
    def shown() -> bool:
        if page.locator(selector).count():
            return True
        page.reload()
        return page.locator(selector).count() > 0

    until(shown, what, timeout)


def assignment_of(ward: Ward, code: str) -> dict[str, Any] | None:
    r = httpx.get(f"{ward.api('assignment')}/api/v1/opinions/{code}", headers=OPERATOR, timeout=10)
    return r.json() if r.status_code == 200 else None


def submit_by_api(ward: Ward, text: str) -> str:
    r = httpx.post(
        f"{ward.api('intake')}/api/v1/opinions",
        json={"text": text, "channel": "written"},
        headers={"X-API-Key": "front-key"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return r.json()["tracking_code"]


def test_a_citizen_submits_follows_and_asks_for_reconsideration(ward: Ward, people: People) -> None:
    page = people.page(phone=True)
    page.goto("/")
    screenshot(page, "01-trang-chu", phone_too=True)
    page.get_by_role("link", name="Gửi ý kiến, kiến nghị").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gửi ý kiến, kiến nghị")
    screenshot(page, "02-gui-y-kien", phone_too=True)

    # Nothing written, an email without consent: both errors, beside their fields and in the summary.
    page.fill("#email", "binh.nguyen@example.vn")
    page.get_by_role("button", name="Gửi ý kiến").click()
    expect(page.locator(".error-summary")).to_contain_text("Hãy viết nội dung ý kiến")
    expect(page.locator("#consent-loi")).to_contain_text("Đánh dấu đồng ý")
    expect(page.locator("#email")).to_have_value("binh.nguyen@example.vn")  # what was typed stays
    screenshot(page, "03-gui-y-kien-loi", phone_too=True)

    text = (
        "Cống thoát nước trước nhà số 18 ngõ 45 phố Ngọc Lâm bị tắc, nước thải tràn ra đường mỗi khi mưa. "
        "Đề nghị phường cho nạo vét và sửa nắp cống."
    )
    page.fill("#text", text)
    page.fill("#name", "Nguyễn Văn Bình")
    page.check("#consent")
    page.get_by_role("button", name="Gửi ý kiến").click()
    code = page.locator("#ma-theo-doi").inner_text().strip()
    assert CODE.fullmatch(code)
    screenshot(page, "04-da-gui", phone_too=True)

    page.get_by_role("link", name="Xem ý kiến đang ở đâu").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    reload_until(page, "text=Đã giao cơ quan xử lý", "the opinion assigned")
    assignment = until(lambda: assignment_of(ward, code), "the assignment")
    answer = (
        "Ngày 02/12/2026 tổ công tác đã nạo vét 40 m cống và thay nắp cống trước nhà số 18; "
        "đề nghị các hộ không đổ rác xuống cống."
    )
    r = httpx.post(
        f"{ward.api('assignment')}/api/v1/opinions/{code}/answer",
        json={"kind": "written", "text": answer, "document_number": "215/UBND-ĐC"},
        headers={"X-API-Key": agency_key(assignment["agency_id"])},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    reload_until(page, "text=Bạn có hài lòng với câu trả lời?", "the answer shown to the citizen")
    expect(page.locator(".panel")).to_contain_text("215/UBND-ĐC")
    screenshot(page, "05-theo-doi-co-tra-loi", phone_too=True)

    page.check("#chua-hai-long")
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.locator("#reason-loi")).to_contain_text("vì sao chưa hài lòng")
    page.check("#chua-hai-long")
    page.fill("#reason", "Nước vẫn tràn khi mưa to, cống chưa được nạo vét hết đoạn cuối ngõ.")
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_role("status")).to_contain_text("Mặt trận Tổ quốc sẽ xem xét lại")

    page.goto("/theo-doi")
    screenshot(page, "06-tra-cuu", phone_too=True)

    front = people.signed_in("mat-tran", start="/tai-xem-xet")
    expect(front.get_by_role("heading", level=1)).to_have_text("Đề nghị xem xét lại")
    row = front.locator("tr", has_text=code)
    expect(row).to_contain_text("cống chưa được nạo vét hết đoạn cuối ngõ")
    screenshot(front, "08-tai-xem-xet")
    row.get_by_role("link", name=code).click()
    expect(front.locator("ol.timeline")).to_contain_text("chưa hài lòng")
    screenshot(front, "09-y-kien-cua-can-bo")


def test_a_secretary_runs_a_conference_from_plan_to_minutes(ward: Ward, people: People) -> None:
    title = "Hội nghị đối thoại khẩn về ngập úng và vệ sinh môi trường tổ dân phố số 7"
    tomorrow = (datetime.now(VIETNAM) + timedelta(days=1)).date()
    page = people.signed_in("thu-ky")
    screenshot(page, "10-viec-cua-toi-thu-ky")
    page.get_by_role("link", name="Hội nghị", exact=True).click()
    page.get_by_role("link", name="Lập kế hoạch hội nghị mới").click()
    page.fill("#title", title)
    page.fill("#date", tomorrow.strftime("%d/%m/%Y"))
    page.fill("#time", "08:00")
    page.fill("#venue", "Nhà văn hóa tổ dân phố số 7")
    page.uncheck("#chair-council_chair")
    page.fill("#expected_attendance", "80")
    page.fill("#participant_groups", "Tổ dân phố số 7\nChi hội Cựu chiến binh\nChi hội Phụ nữ")
    page.fill("#topics", "Ngập úng khi mưa lớn\nThu gom rác thải")
    page.fill("#invitees", "Trần Văn Hải; hai.tran@example.vn; Tổ trưởng tổ dân phố số 7")
    page.get_by_role("button", name="Lập kế hoạch").click()
    # Tomorrow is less than the 3 days' notice: refused beside the date, what was typed kept.
    expect(page.locator("#date-loi")).to_contain_text("thông báo trước ít nhất 3 ngày")
    expect(page.locator("#title")).to_have_value(title)
    screenshot(page, "11-lap-ke-hoach-loi")
    page.check("#urgent")
    page.fill("#urgent_reason", "Mưa lớn kéo dài gây ngập sâu, cần đối thoại ngay với người dân")
    page.get_by_role("button", name="Lập kế hoạch").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.locator("h1 .status")).to_have_text("Đã thông báo")  # urgent: announced at once
    conference_id = page.locator("dd.mono").inner_text().strip()

    # Before it opens, the Front collects opinions for it, one after another.
    front = people.signed_in("mat-tran", start="/y-kien/thu-thap")
    front.select_option("#conference", conference_id)
    front.fill("#place", "Tổ dân phố số 7")
    front.fill("#text", "Rác thải tập kết ở đầu ngõ 45 không được thu gom hằng ngày, gây mùi hôi.")
    front.get_by_role("button", name="Ghi ý kiến và nhập tiếp").click()
    expect(front.locator("#da-ghi")).to_contain_text("Đã ghi ý kiến YK-")
    expect(front.locator("#conference")).to_have_value(conference_id)  # kept for the next one
    expect(front.locator("#place")).to_have_value("Tổ dân phố số 7")
    expect(front.locator("#text")).to_have_value("")
    has_focus(front, "text")
    screenshot(front, "12-thu-thap-y-kien")
    first = front.locator("#da-ghi strong").inner_text()
    # The same matter from another household, typed without marks: shown as alike, merged on its page.
    front.fill("#text", "Rac thai o dau ngo 45 khong duoc thu gom hang ngay, boc mui hoi thoi")
    front.get_by_role("button", name="Ghi ý kiến và nhập tiếp").click()
    expect(front.locator("#tuong-tu")).to_contain_text(first)
    screenshot(front, "12a-y-kien-tuong-tu")
    front.locator("#tuong-tu a").first.click()
    merge = front.get_by_role("button", name=f"Gộp ý kiến này vào {first}")
    for _ in range(20):  # the button appears once assignment has put the opinion on the agenda
        if merge.count():
            break
        front.wait_for_timeout(500)
        front.reload()
    merge.click()
    expect(front.locator("main")).to_contain_text(f"Đã gộp vào ý kiến cùng nội dung {first}")
    screenshot(front, "12b-da-gop-y-kien")

    page.reload()
    page.get_by_role("button", name="Khai mạc").click()
    has_focus(page, "direct-text")
    spoken = [
        ("Đề nghị lắp thêm đèn chiếu sáng ngõ 45, buổi tối rất tối, không an toàn.", "Cử tri tổ dân phố số 7"),
        ("Đề nghị hỗ trợ các hộ nghèo sửa nhà bị hư hỏng sau đợt ngập vừa qua.", "Bà Lê Thị Hạnh"),
    ]
    codes = []
    for text, speaker in spoken:
        page.fill("#direct-text", text)
        page.fill("#direct-speaker", speaker)

        def saved() -> bool:
            with page.expect_navigation():
                page.locator("#direct-text").press("Control+Enter")  # the keyboard way; the button works too
            if page.locator("#direct-text-loi").count():  # intake may not know yet that it opened
                time.sleep(0.3)
                return False
            return True

        until(saved, "the direct opinion recorded")
        expect(page.get_by_role("status").filter(has_text="Đã ghi ý kiến")).to_be_visible()
        has_focus(page, "direct-text")  # ready for the next speaker
        codes.append(CODE.search(page.url).group(0))  # type: ignore[union-attr]
    for code in codes:
        reload_until(page, f"#{code}-tai-cho", f"{code} assigned")

    # The first is answered on the spot by the UBND chair; the second gets a written answer promised.
    first = page.locator(f"#y-{codes[0]}")
    first.locator("summary", has_text="Trả lời tại hội nghị").click()
    first.locator(f"#{codes[0]}-tai-cho-head").select_option("committee_chair")
    first.get_by_role("button", name="Ghi trả lời tại hội nghị").click()
    expect(page.locator(f"#{codes[0]}-tai-cho-text-loi")).to_contain_text("Ghi nội dung")  # nothing written yet
    first = page.locator(f"#y-{codes[0]}")
    first.locator(f"#{codes[0]}-tai-cho-text").fill("UBND phường sẽ lắp 6 bóng đèn LED trên ngõ 45 trong tháng 12.")
    first.get_by_role("button", name="Ghi trả lời tại hội nghị").click()
    expect(page.locator(f"#y-{codes[0]} .result")).to_contain_text("Đã trả lời tại hội nghị")
    second = page.locator(f"#y-{codes[1]}")
    second.locator("summary", has_text="Hẹn trả lời bằng văn bản").click()
    second.get_by_role("button", name="Ghi hẹn trả lời bằng văn bản").click()
    expect(page.get_by_role("status").filter(has_text="Đã ghi kết quả")).to_contain_text(codes[1])
    # The task the conclusion gives the agency, in the secretary's words (printed in the conclusion notice).
    task = "Rà soát danh sách hộ nghèo bị ảnh hưởng và đề xuất mức hỗ trợ sửa nhà trước ngày 15/12."
    page.locator(f"#y-{codes[1]}").locator("summary", has_text="Nhiệm vụ kết luận giao").click()
    page.locator(f"#y-{codes[1]}").get_by_role("button", name="Ghi nhiệm vụ").click()
    expect(page.locator(f"#{codes[1]}-nhiem-vu-task-loi")).to_contain_text("Ghi nhiệm vụ giao cơ quan")
    page.fill(f"#{codes[1]}-nhiem-vu-task", task)
    page.locator(f"#y-{codes[1]}").get_by_role("button", name="Ghi nhiệm vụ").click()
    expect(page.get_by_role("status").filter(has_text="Đã ghi kết quả")).to_contain_text(codes[1])
    screenshot(page, "13-hoi-nghi-dang-hop", phone_too=True)

    page.get_by_role("button", name="Bế mạc").click()
    page.get_by_role("button", name="Ban hành kết luận và biên bản").click()
    expect(page.locator("h1 .status")).to_have_text("Đã ban hành kết luận")
    reload_until(page, "a:has-text('Biên bản hội nghị')", "the minutes")
    screenshot(page, "14-hoi-nghi-da-ket-luan")

    page.get_by_role("link", name="Biên bản hội nghị").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Biên bản")
    expect(page.frame_locator("iframe.document").locator("body")).to_contain_text(codes[0])
    screenshot(page, "15-bien-ban")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải bản PDF").click()
    pdf = download.value
    assert pdf.suggested_filename == f"{conference_id}-bien-ban.pdf"
    data = open(pdf.path(), "rb").read()  # noqa: SIM115
    assert data.startswith(b"%PDF")
    text = nfc("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
    assert nfc(title) in text and "BIÊN BẢN" in text
    assert "UBND phường sẽ lắp 6 bóng đèn LED" in text

    # The conclusion notice carries the task as worded; the plan is numbered when first opened.
    page.goto(f"/hoi-nghi/{conference_id}")
    page.locator("ul.documents a", has_text=re.compile(r"^Thông báo kết luận")).first.click()
    expect(page.frame_locator("iframe.document").locator("body")).to_contain_text(task)
    page.goto(f"/hoi-nghi/{conference_id}")
    page.get_by_role("link", name="Kế hoạch", exact=True).click()
    expect(page.frame_locator("iframe.document").locator("body")).to_contain_text("KẾ HOẠCH")
    screenshot(page, "15a-ke-hoach")

    # The Front follows it: the board (overdue first), the search by conference; the public plan shows it.
    front.goto("/giam-sat")
    expect(front.locator("tr", has_text=codes[1])).to_contain_text("Đang thực hiện")
    screenshot(front, "16-giam-sat")
    front.goto("/y-kien")
    front.select_option("#conference", conference_id)
    front.get_by_role("button", name="Lọc").click()
    expect(front.locator("#ket-qua")).to_have_text("Tìm thấy 4 ý kiến")
    screenshot(front, "17-tim-y-kien")
    page.goto("/hoi-nghi")
    expect(page.locator("tr", has_text=conference_id)).to_contain_text("Đã ban hành kết luận")
    screenshot(page, "18-danh-sach-hoi-nghi")
    citizen = people.page(phone=True)
    citizen.goto("/ke-hoach")
    expect(citizen.locator("tr", has_text=title)).to_be_visible()
    screenshot(citizen, "07-ke-hoach", phone_too=True)

    # A head follows the document's link from a mail: it lands there after signing in.
    head = people.page()
    head.goto(f"/van-ban/{conference_id}-bien-ban")
    expect(head).to_have_url(re.compile(r"/dang-nhap\?tiep=/van-ban/"))
    sign_in(head, "chu-tich")
    expect(head).to_have_url(re.compile(f"/van-ban/{conference_id}-bien-ban$"))
    head.goto("/ho-so")
    expect(head.get_by_role("heading", level=1)).to_contain_text("Hồ sơ của tôi")
    expect(head.locator("body")).to_contain_text(codes[0])
    screenshot(head, "19-ho-so-nguoi-dung-dau")


def test_an_agency_answers_from_its_inbox_and_cannot_open_another_agencys_item(ward: Ward, people: People) -> None:
    ours = submit_by_api(ward, "Rác thải xây dựng đổ trộm ở bãi đất trống cuối ngõ 8 tổ dân phố số 2, gây ô nhiễm.")
    theirs = submit_by_api(ward, "Đề nghị xét cấp thẻ bảo hiểm y tế cho hộ cận nghèo ở tổ dân phố số 4.")
    assigned = {c: until(lambda c=c: assignment_of(ward, c), f"{c} assigned") for c in (ours, theirs)}
    agency = assigned[ours]["agency_id"]  # the development account of an agency is named by its id
    assert assigned[theirs]["agency_id"] != agency

    # The notice's link, followed before signing in: it lands on the item after sign-in.
    page = people.page()
    page.goto(f"/hop-thu/{ours}")
    expect(page).to_have_url(re.compile(r"/dang-nhap\?tiep=/hop-thu/"))
    sign_in(page, agency)
    expect(page).to_have_url(re.compile(f"/hop-thu/{ours}$"))
    expect(page.locator("blockquote")).to_contain_text("Rác thải xây dựng đổ trộm")
    reload_until(page, "button:has-text('Xác nhận đã nhận')", "the assignment notice sent")
    page.get_by_role("button", name="Xác nhận đã nhận").click()
    expect(page.get_by_role("status")).to_contain_text("Đã xác nhận")

    page.goto("/hop-thu")
    expect(page.locator("tr", has_text=ours)).to_be_visible()
    screenshot(page, "20-hop-thu-co-quan", phone_too=True)
    page.get_by_role("link", name=ours).click()
    page.fill(f"#{ours}-van-ban-text", "Ngày 05/12/2026 phường đã thu dọn 12 m³ phế thải và lắp biển cấm đổ rác.")
    page.get_by_role("button", name="Gửi câu trả lời").click()
    expect(page.locator(f"#{ours}-van-ban-document_number-loi")).to_contain_text("số văn bản")
    expect(page.locator(f"#{ours}-van-ban-text")).to_have_value(re.compile("12 m³ phế thải"))  # kept
    screenshot(page, "21-tra-loi-loi")
    page.fill(f"#{ours}-van-ban-document_number", "318/UBND-ĐC")
    page.get_by_role("button", name="Gửi câu trả lời").click()
    expect(page.get_by_role("status")).to_contain_text("Đã ghi câu trả lời")
    expect(page.locator(".panel")).to_contain_text("318/UBND-ĐC")
    screenshot(page, "22-viec-da-tra-loi")
    page.goto("/hop-thu?tab=da-tra-loi")
    expect(page.locator("tr", has_text=ours)).to_contain_text("318/UBND-ĐC")

    response = page.goto(f"/hop-thu/{theirs}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Việc này không giao cho cơ quan của bạn")
    expect(page.locator("p.lead")).to_contain_text("không giao cho cơ quan của bạn")
    expect(page.locator("body")).not_to_contain_text("bảo hiểm y tế")
    screenshot(page, "23-viec-cua-co-quan-khac-403")


def test_five_wrong_passwords_lock_the_account(people: People) -> None:
    page = people.page()
    page.goto("/dang-nhap")
    screenshot(page, "24-dang-nhap", phone_too=True)
    for _ in range(4):
        sign_in(page, "chu-tich-hdnd", "mat-khau-sai-roi")
        expect(page.locator(".error-summary")).to_contain_text("Tên đăng nhập hoặc mật khẩu không đúng")
    sign_in(page, "chu-tich-hdnd", "mat-khau-sai-roi")
    expect(page.locator(".error-summary")).to_contain_text("Tài khoản tạm khóa vì đăng nhập sai nhiều lần")
    sign_in(page, "chu-tich-hdnd")  # the right password, while locked
    expect(page.locator(".error-summary")).to_contain_text("Tài khoản tạm khóa")
    expect(page).to_have_url(re.compile("/dang-nhap"))
    screenshot(page, "25-tai-khoan-tam-khoa")


def test_a_form_without_its_token_is_refused_and_changes_nothing(ward: Ward, people: People) -> None:
    page = people.signed_in("mat-tran", start="/y-kien/thu-thap")
    other = people.signed_in("thu-ky")
    others_token = other.locator("input[name=csrf_token]").first.input_value()

    def found(text: str) -> int:
        r = httpx.get(f"{ward.api('intake')}/api/v1/opinions", params={"q": text}, headers=OPERATOR, timeout=10)
        return r.json()["total"]

    for n, token in enumerate((None, others_token)):
        text = f"Ý kiến giả mạo số {n} về lòng đường ngõ 3"
        page.goto("/y-kien/thu-thap")
        page.fill("#place", "Tổ dân phố số 1")
        page.fill("#text", text)
        if token is None:
            page.locator("form.collect input[name=csrf_token]").evaluate("e => e.remove()")
        else:
            page.locator("form.collect input[name=csrf_token]").evaluate("(e, t) => e.value = t", token)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Ghi ý kiến và nhập tiếp").click()
        assert answer.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Biểu mẫu đã hết hạn")
        time.sleep(0.5)  # what a submission would have stored is stored before its answer
        assert found(text) == 0
    screenshot(page, "26-bieu-mau-het-han")

    # The citizens' form too (its token is in a cookie of its own).
    citizen = people.page()
    citizen.goto("/gui-y-kien")
    citizen.fill("#text", "Ý kiến giả mạo của người dân về vỉa hè ngõ 9")
    citizen.locator("input[name=csrf_token]").evaluate("e => e.value = 'gia-mao'")
    citizen.get_by_role("button", name="Gửi ý kiến").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Biểu mẫu đã hết hạn")
    assert found("vỉa hè ngõ 9") == 0


def test_an_operator_keeps_the_directory_people_reports_and_health(ward: Ward, people: People) -> None:
    page = people.signed_in("van-hanh", start="/quan-tri")
    screenshot(page, "27-quan-tri")
    page.get_by_role("link", name="Danh bạ cơ quan").click()
    screenshot(page, "28-danh-ba-co-quan")
    page.locator("table.list tbody a").first.click()
    page.check("#channel-webhook")
    page.fill("#webhook_url", "http://127.0.0.1:9/nhan-thong-bao")
    page.fill("#webhook_secret", "mot-khoa-ky-rat-dai-0123456789")
    page.get_by_role("button", name="Lưu cơ quan").click()
    expect(page.locator("#webhook_url-loi")).to_be_visible()  # an internal address: refused by the service
    expect(page.locator("#webhook_url")).to_have_value("http://127.0.0.1:9/nhan-thong-bao")
    screenshot(page, "29-sua-co-quan-loi")

    page.goto("/quan-tri/nguoi-dung/moi")
    page.fill("#username", "le.thi.hoa")
    page.fill("#full_name", "Lê Thị Hoa")
    page.fill("#position", "Ủy viên Ủy ban MTTQ phường")
    page.check("#role-front")
    temporary = page.locator("#password").input_value()
    screenshot(page, "30-them-nguoi-dung")
    page.get_by_role("button", name="Thêm người dùng").click()
    expect(page.locator("tr", has_text="le.thi.hoa")).to_contain_text("Chờ đổi mật khẩu tạm")
    screenshot(page, "31-nguoi-dung")
    newcomer = people.page()
    newcomer.goto("/dang-nhap")
    sign_in(newcomer, "le.thi.hoa", temporary)
    expect(newcomer).to_have_url(re.compile("/tai-khoan/doi-mat-khau"))

    year = datetime.now(VIETNAM).year
    page.goto(f"/bao-cao?ky={year}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Báo cáo kết quả đối thoại")
    expect(page.frame_locator("iframe.report").locator("body")).to_contain_text("Biểu đồ")
    page.locator("iframe.report").scroll_into_view_if_needed()
    screenshot(page, "32-bao-cao")
    csv = page.request.get(f"/bao-cao/{year}.csv")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert "Đơn vị" in csv.text() and "Phường Thử Nghiệm" in csv.text()

    page.goto("/quan-tri/he-thong")
    expect(page.locator(".status-card .status.ok")).to_have_count(4)
    screenshot(page, "33-tinh-trang-he-thong")
    page.goto("/quan-tri/thu-chet")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thư chết")
    screenshot(page, "34-thu-chet")
