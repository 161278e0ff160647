"""Two replicas of every service of one instance, as a province running on a cluster would deploy them:
competing consumers on the same queues and the same databases. One of each is killed (SIGKILL) under load;
nothing is lost and nothing comes twice — each agency and each citizen gets one mail per opinion, each
opinion has its four timers once, a reminder fires once while both schedulers poll, and the document
register gives no number twice when conferences are concluded at once through both replicas.

One repeat is documented and allowed, as `make chaos` allows it: a mail the SMTP server took just before the
notification process that sent it was killed, before it could record the sending, is sent again by the other
replica — the same notification, with the same Message-ID (a mail system drops such a copy). Any other
repeat fails the test."""

from __future__ import annotations

import collections
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from deploy.localstack.processes import ServiceProcess, free_port, wait_until
from shared.clock import VIETNAM

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "scheduling", "assignment", "notification")
FRONT, OPERATOR = {"X-API-Key": "front-key"}, {"X-API-Key": "operator-key"}
CODE = re.compile(r"YK-[0-9A-Z]{4}-[0-9A-Z]{4}")
DAY = 86400
TEXTS = (
    "Đường ngõ {n} tổ dân phố số 3 xuống cấp, nhiều ổ gà, đề nghị sửa chữa",
    "Rác thải tồn đọng ở đầu ngõ {n}, đề nghị thu gom hằng ngày",
    "Đề nghị lắp đèn chiếu sáng ngõ {n}, buổi tối không an toàn",
    "Cống thoát nước ngõ {n} bị tắc, mưa là ngập",
)


WINDOW_S = 5.0  # a copy's first mail reached the SMTP server at most this long before the kill


def copies(folder: Path, needle: str) -> dict[str, list[tuple[float, str]]]:
    """Tracking code → (arrival time, Message-ID) of each mail whose subject holds `needle`."""
    found: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
    for path in sorted(folder.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        if needle in str(mail["Subject"]) and (code := CODE.search(str(mail["Subject"]))):
            found[code.group(0)].append((path.stat().st_mtime, str(mail["Message-ID"])))
    return found


def repeats_outside_the_window(found: dict[str, list[tuple[float, str]]], killed_at: float | None) -> list[str]:
    """Codes mailed more than once other than the documented way (same Message-ID, sent just before a kill)."""
    bad = []
    for code, mails in found.items():
        if len(mails) == 1:
            continue
        first = min(t for t, _ in mails)
        same = len({m for _, m in mails}) == 1
        # The server may finish writing a mail it took in full a moment after its sender died: a second's grace.
        if not (same and killed_at is not None and killed_at - WINDOW_S <= first <= killed_at + 1.0):
            bad.append(code)
    return bad


def quiet(messages, seconds: float = 4.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until no mail has arrived for `seconds`: a late duplicate would have arrived by then."""
    seen, since = len(messages()), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.2)
        if (now := len(messages())) != seen:
            seen, since = now, time.monotonic()


@pytest.fixture
def replicas(service_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, list[ServiceProcess]]]:
    clock = tmp_path / "clock"
    clock.write_text("0")
    env = {**service_env, "DOITHOAI_CONSOLE_URL": "http://console.test", "DOITHOAI_TEST_CLOCK_FILE": str(clock),
           "DOITHOAI_TIMER_POLL_S": "0.2", "DOITHOAI_DELIVERY_POLL_S": "0.2",
           # A killed sender's notifications go to the other replica when their lease runs out: after 9 s.
           "DOITHOAI_SMTP_TIMEOUT_S": "2", "DOITHOAI_WEBHOOK_TIMEOUT_S": "2"}  # fmt: skip
    procs = {
        name: [ServiceProcess(name, env, free_port(), tmp_path / "log" / f"{name}-{r}.log") for r in "ab"]
        for name in SERVICES
    }
    every = [p for pair in procs.values() for p in pair]
    for p in every:
        p.start()
    try:
        for p in every:
            p.wait_ready(120)
        yield procs
    finally:
        for p in every:
            p.stop()


def test_two_replicas_of_each_service_one_killed_under_load_lose_and_repeat_nothing(  # type: ignore[no-untyped-def]
    replicas, smtp, tmp_path: Path
) -> None:
    messages = smtp.mail.messages
    intakes = [p.url for p in replicas["intake"]]
    codes: dict[int, str] = {}

    def submit(n: int) -> None:
        """One opinion, sent with its own Idempotency-Key to a replica, and to the other if that one is gone."""
        body = {"text": TEXTS[n % 4].format(n=n), "channel": "online",
                "citizen": {"name": f"Cử tri số {n}", "email": f"c{n}@example.vn"}}  # fmt: skip
        headers = {**FRONT, "Idempotency-Key": f"replicas-{n}-{uuid.uuid4()}"}
        for attempt in range(20):
            try:
                r = httpx.post(f"{intakes[(n + attempt) % 2]}/api/v1/opinions", json=body, headers=headers, timeout=10)
            except httpx.HTTPError:
                continue  # that replica was just killed: the other takes the same key
            if r.status_code in (200, 201):
                codes[n] = r.json()["tracking_code"]
                return
        raise AssertionError(f"opinion {n} was not accepted by either replica")

    def mailed(needle: str) -> collections.Counter[str]:
        """Tracking code → mails so far whose subject holds `needle`."""
        return collections.Counter(
            CODE.search(m["Subject"]).group(0)  # type: ignore[union-attr]
            for m in messages()
            if needle in m["Subject"]
        )

    def batch(worker: int) -> None:
        for i in range(20):
            submit(worker * 20 + i)

    workers = [threading.Thread(target=batch, args=(w,)) for w in range(3)]
    for t in workers:
        t.start()
    try:
        wait_until(lambda: sum(mailed("Giao xử lý ý kiến").values()) >= 8, 90, 0.05, "the first assignments")
        for name in SERVICES:
            replicas[name][0].kill(signal.SIGKILL)  # replica a of every service, mid-batch
        killed_at = time.time()  # notification's replica a is dead by now (it is killed last)
        submitted_at_kill = len(codes)
    finally:
        for t in workers:
            t.join()
    assert submitted_at_kill < len(codes) == 60, "the kill did not land in the middle of the batch"
    for name in SERVICES:  # back, competing again with replica b
        replicas[name][0].start()
    for name in SERVICES:
        replicas[name][0].wait_ready(120)

    wanted = set(codes.values())
    # What the killed replica had taken but not sent waits for its lease to run out, then the other sends it.
    wait_until(lambda: set(mailed("Giao xử lý ý kiến")) == wanted, 180, 0.5, "every opinion's agency mail")
    wait_until(lambda: set(mailed("Đã tiếp nhận ý kiến")) == wanted, 60, 0.5, "every citizen's receipt")
    quiet(messages)
    folder = smtp.folder
    notices = copies(folder, "Giao xử lý ý kiến")
    bad = repeats_outside_the_window(notices, killed_at)
    assert bad == [], ("an agency told twice", killed_at, {c: notices[c] for c in bad})
    receipts = copies(folder, "Đã tiếp nhận ý kiến")
    assert set(receipts) == wanted, "a citizen got no receipt"
    assert repeats_outside_the_window(receipts, killed_at) == [], "a citizen got two receipts"

    scheduling = [p.url for p in replicas["scheduling"]]
    for n, code in codes.items():
        timers = httpx.get(f"{scheduling[n % 2]}/api/v1/opinions/{code}/timers", headers=OPERATOR).json()
        assert sorted(t["kind"] for t in timers) == ["due_soon"] * 3 + ["overdue"], (code, timers)

    # 24 days later for every process: the 7-day reminders are due, and both schedulers poll for them.
    (tmp_path / "clock").write_text(str(24 * DAY))

    wait_until(lambda: set(mailed("còn 7 ngày trả lời ý kiến")) == wanted, 120, 0.5, "every opinion's 7-day reminder")
    quiet(messages)
    # Nothing was killed now: both schedulers poll, and each reminder is mailed exactly once.
    assert repeats_outside_the_window(copies(folder, "còn 7 ngày trả lời ý kiến"), None) == [], "a reminder twice"

    # Three urgent conferences concluded at once, through both replicas: the register numbers without gaps.
    starts = (datetime.now(VIETNAM) + timedelta(days=24, hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    ids = []
    for k in range(3):
        r = httpx.post(f"{scheduling[k % 2]}/api/v1/conferences", headers=FRONT, json={
            "title": f"Hội nghị đối thoại khẩn số {k + 1}", "starts_at": starts, "venue": f"Nhà văn hóa tổ {k + 1}",
            "chairs": ["committee_chair"], "urgent": True, "urgent_reason": "Sự cố môi trường cần đối thoại ngay",
        }, timeout=10)  # fmt: skip
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    def conclude(k: int) -> None:
        for move in ("open", "close", "conclude"):
            r = httpx.post(f"{scheduling[(k + 1) % 2]}/api/v1/conferences/{ids[k]}/{move}", headers=FRONT, timeout=10)
            assert r.status_code == 200, r.text

    movers = [threading.Thread(target=conclude, args=(k,)) for k in range(3)]
    for t in movers:
        t.start()
    for t in movers:
        t.join()
    assignment = [p.url for p in replicas["assignment"]]

    def minutes_of_all() -> list[dict] | None:  # type: ignore[type-arg]
        docs = [httpx.get(f"{assignment[k % 2]}/api/v1/conferences/{cid}/documents", headers=FRONT).json()
                for k, cid in enumerate(ids)]  # fmt: skip
        issued = [d for ds in docs for d in ds if d["kind"] == "minutes" and d["status"] == "issued"]
        return issued if len(issued) == 3 else None

    minutes = wait_until(minutes_of_all, 120, 0.5, "the three conferences' minutes")
    year = datetime.now(VIETNAM) + timedelta(days=24)
    register = httpx.get(f"{assignment[0]}/api/v1/document-register", params={"year": year.year}, headers=FRONT)
    rows = [r for r in register.json() if r["series"] == "UBND"]
    assert [r["number"] for r in rows] == list(range(1, len(rows) + 1)), rows
    assert len({r["document_id"] for r in rows}) == len(rows) and len({r["symbol"] for r in rows}) == len(rows)
    assert sorted(d["number"] for d in minutes) == sorted(r["symbol"] for r in rows if "/BB-" in r["symbol"])
