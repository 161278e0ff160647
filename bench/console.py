"""`make bench-console`: the console's pages at 20 concurrent signed-in users, against the same requests
made straight to the services' APIs in the same run (the console's own cost, as a ratio).

One run, on this machine's RabbitMQ and a fresh SecantusDB:
  1. start one ward (the four services and its console, as processes, as `make run` does);
  2. fill one agency's inbox (60 opinions addressed to it) and open an urgent conference (what is
     recorded there goes to other agencies, so the inbox keeps its 60 items);
  3. sign 20 people in through the console's own sign-in form (20 sessions of the secretary, 20 of
     the agency);
  4. two scenarios, each in rounds where console and direct calls take turns (so a slow moment of the
     machine does not fall on one side only), 20 people at once, first at work (each pausing 2 s on
     average between actions, `--think-s`), then saturated (each request right after the last):
       - the secretary records an opinion: POST of the console's form (CSRF token, one-time key) →
         303, against POST /api/v1/opinions on intake with the same person's token and key;
       - the agency's inbox page: GET /hop-thu → 200 HTML, against the five calls that page makes to
         assignment and notification (the tab's page, the other tabs' counts, unconfirmed notices),
         made at once as the console makes them;
  5. p50/p95/p99 of each side, the ratio console/direct and the console's own milliseconds.
Results go to var/bench/console.json. Timings are figures to read, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiosmtpd.controller import Controller

from bench import delete_vhosts, fresh_run, start_logging, write_json
from deploy.links import Hierarchy, InstanceSpec
from deploy.localstack.processes import free_port
from deploy.localstack.stack import LocalStack, Ports, dev_key
from shared.clock import VIETNAM
from shared.http import tokens
from shared.messaging.admin import RabbitAdmin

log = logging.getLogger("bench")

WARD = "bench-console"
HIERARCHY = Hierarchy(instances=[InstanceSpec(id=WARD, name="Phường Đo Tải", level="ward")])
PASSWORD = "thu-nghiem-2026"  # the development accounts of the local stack (README)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
INBOX_TEXTS = [  # matters of one agency of the ward (environment, traffic and infrastructure): the measured inbox
    "Đề nghị lắp đèn chiếu sáng ngõ {i}, buổi tối rất tối",
    "Rác thải tập kết ở đầu ngõ {i} không được thu gom hằng ngày",
    "Mặt đường ngõ {i} xuống cấp, nhiều ổ gà sau mưa",
    "Cống thoát nước trước nhà số {i} bị tắc, nước tràn ra đường",
]
# What the secretary records goes to other agencies (social policy, health, culture), so that the inbox
# measured afterwards holds its own 60 items, not the thousands of opinions recorded meanwhile.
SPOKEN_TEXTS = [
    "Đề nghị xét hỗ trợ hộ nghèo ở tổ dân phố số {i} sửa nhà sau đợt mưa bão",
    "Trạm y tế phường cần bổ sung buổi tiêm chủng cho trẻ em, tổ {i}",
    "Nhà văn hóa tổ dân phố số {i} xuống cấp, đề nghị sửa chữa",
    "Đề nghị giải quyết chế độ cho người có công ở tổ {i} còn chậm",
]
INBOX = 60


class Http:
    """HTTP/1.1 over kept-alive connections, and nothing more.

    The driver shares the two cores with what it measures; httpx costs about 2.3 ms of CPU a request
    here (bench/pipeline.py), this a small fraction of it. Each client has its own connections.
    """

    def __init__(self) -> None:
        self.idle: dict[str, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def request(
        self, method: str, url: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        length = f"Content-Length: {len(body)}\r\n" if method != "GET" else ""
        raw = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{length}{head}\r\n".encode() + body
        idle = self.idle.setdefault(parts.netloc, [])
        while True:
            reused = bool(idle)
            reader, writer = idle.pop() if reused else await asyncio.open_connection(host, port)
            writer.write(raw)
            try:
                status_line = await reader.readline()
            except ConnectionResetError:
                if not reused:
                    raise
                status_line = b""
            if status_line or not reused:
                break
            writer.close()  # closed by the server while idle; open another
        answer: dict[str, str] = {}
        cookies: list[str] = []
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "set-cookie":
                cookies.append(value.strip())
            answer[name.strip().lower()] = value.strip()
        if cookies:
            answer["set-cookie"] = "\n".join(cookies)
        if answer.get("transfer-encoding") == "chunked":
            payload = b""
            while size := int((await reader.readline()).strip() or b"0", 16):
                payload += await reader.readexactly(size)
                await reader.readline()
            await reader.readline()
        else:
            payload = await reader.readexactly(int(answer.get("content-length", "0")))
        idle.append((reader, writer))
        return int(status_line.split()[1]), answer, payload

    def close(self) -> None:
        for connections in self.idle.values():
            for _, writer in connections:
                writer.close()


def cookie(headers: dict[str, str], name: str) -> str | None:
    for line in headers.get("set-cookie", "").split("\n"):
        if line.startswith(f"{name}="):
            return line.split(";", 1)[0].split("=", 1)[1]
    return None


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Person:
    """One signed-in person: the console's session, and the token the console would sign for them."""

    def __init__(self, console: str, username: str, identity: tokens.Person, private_key: str) -> None:
        self.console = console
        self.username = username
        self.identity = identity
        self.private_key = private_key
        self.http = Http()
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        jar = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": jar} if jar else {}), **(extra or {})}

    async def sign_in(self) -> None:
        _, answer, page = await self.http.request("GET", f"{self.console}/dang-nhap")
        self.cookies["doithoai_bieu_mau"] = cookie(answer, "doithoai_bieu_mau") or ""
        token = CSRF.search(page.decode()).group(1)  # type: ignore[union-attr]
        body = urlencode({"csrf_token": token, "username": self.username, "password": PASSWORD}).encode()
        status, answer, _ = await self.http.request(
            "POST", f"{self.console}/dang-nhap", body=body, headers=self.headers(FORM)
        )
        if status != 303 or not (session := cookie(answer, "doithoai_phien")):
            raise RuntimeError(f"{self.username} could not sign in: HTTP {status}")
        self.cookies = {"doithoai_phien": session}
        _, _, page = await self.http.request("GET", f"{self.console}/lam-viec", headers=self.headers())
        self.csrf = CSRF.search(page.decode()).group(1)  # type: ignore[union-attr]

    def bearer(self) -> dict[str, str]:
        token = tokens.sign(self.identity, private_key=self.private_key, instance=WARD, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}", "X-Forwarded-For": "127.0.0.1"}


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("inf"), "p95": float("inf"), "p99": float("inf"), "mean": float("inf")}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "p50": round(at(0.50) * 1000, 1),
        "p95": round(at(0.95) * 1000, 1),
        "p99": round(at(0.99) * 1000, 1),
        "mean": round(statistics.fmean(ordered) * 1000, 1),
    }


class Refused(Exception):
    """A request that did not get its answer (a 503 page, a refusal): counted, not timed."""


async def closed_loop(
    people: list[Person], each: int, one: Callable[[Person, int], Awaitable[None]], think_s: float = 0.0
) -> tuple[list[float], list[str]]:
    """Every person makes `each` requests, one after the other; all people at once. With `think_s`, a person
    pauses before each request for a random time of that mean (exponential: people read, type, look up), as
    people at work do; without, they send back to back (a stress test). The timings of the answered requests,
    and what went wrong with the others."""
    timings: list[float] = []
    failures: list[str] = []
    counter = iter(range(10**9))

    async def person(p: Person) -> None:
        for _ in range(each):
            if think_s:
                await asyncio.sleep(random.expovariate(1 / think_s))
            started = time.perf_counter()
            try:
                await one(p, next(counter))
            except Refused as exc:
                failures.append(str(exc))
                continue
            timings.append(time.perf_counter() - started)

    await asyncio.gather(*(person(p) for p in people))
    return timings, failures


class Scenarios:
    def __init__(self, stack: LocalStack, conference_id: str) -> None:
        self.stack = stack
        self.conference_id = conference_id
        self.intake = stack.url(WARD, "intake")
        self.assignment = stack.url(WARD, "assignment")
        self.notification = stack.url(WARD, "notification")

    # ---- the secretary records an opinion ----

    def _opinion(self, i: int) -> tuple[str, str]:
        return SPOKEN_TEXTS[i % len(SPOKEN_TEXTS)].format(i=i), f"Cử tri tổ dân phố số {i % 12 + 1}"

    async def record_console(self, p: Person, i: int) -> None:
        text, speaker = self._opinion(i)
        body = urlencode(
            {"csrf_token": p.csrf, "phieu": secrets.token_urlsafe(12), "text": text, "speaker": speaker, "field": ""}
        ).encode()
        status, _, _ = await p.http.request(
            "POST", f"{p.console}/hoi-nghi/{self.conference_id}/y-kien", body=body, headers=p.headers(FORM)
        )
        if status != 303:
            raise Refused(f"the console refused the opinion: HTTP {status}")

    async def record_direct(self, p: Person, i: int) -> None:
        text, speaker = self._opinion(i)
        body = json.dumps(
            {"text": text, "channel": "direct", "conference_id": self.conference_id, "citizen": {"name": speaker}}
        ).encode()
        headers = {
            **p.bearer(),
            "Content-Type": "application/json",
            "Idempotency-Key": f"hoi-nghi:{p.username}:{secrets.token_urlsafe(12)}",
        }
        status, _, answer = await p.http.request("POST", f"{self.intake}/api/v1/opinions", body=body, headers=headers)
        if status != 201:
            raise Refused(f"intake refused the opinion: HTTP {status} {answer[:200]!r}")

    # ---- the agency's inbox ----

    async def inbox_console(self, p: Person, _: int) -> None:
        status, _, page = await p.http.request("GET", f"{p.console}/hop-thu", headers=p.headers())
        if status != 200 or b"H\xe1\xbb\x99p th\xc6\xb0 c\xc6\xa1 quan" not in page:
            raise Refused(f"the inbox did not come: HTTP {status}")

    async def inbox_direct(self, p: Person, _: int) -> None:
        headers = p.bearer()
        calls = [
            f"{self.assignment}/api/v1/opinions?status=assigned&page=1&per_page=25",
            f"{self.notification}/api/v1/notifications?status=sent",
            f"{self.assignment}/api/v1/opinions?due=soon&page=1&per_page=1",
            f"{self.assignment}/api/v1/opinions?due=overdue&page=1&per_page=1",
            f"{self.assignment}/api/v1/opinions?status=answered&page=1&per_page=1",
        ]
        answers = await asyncio.gather(*(p.http.request("GET", url, headers=headers) for url in calls))
        if any(status != 200 for status, _, _ in answers):
            raise Refused(f"a service refused the inbox: {[s for s, _, _ in answers]}")


async def measure(
    name: str,
    people: list[Person],
    sides: dict[str, Callable[[Person, int], Awaitable[None]]],
    rounds: int,
    each: int,
    think_s: float = 0.0,
) -> dict[str, Any]:
    log.info("%s: warming up", name)
    for one in sides.values():
        await closed_loop(people, 2, one)
    timings: dict[str, list[float]] = {side: [] for side in sides}
    failures: dict[str, list[str]] = {side: [] for side in sides}
    order = list(sides)
    for r in range(rounds):
        for side in order if r % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            got, failed = await closed_loop(people, each, sides[side], think_s)
            timings[side] += got
            failures[side] += failed
            p = percentiles(got)
            log.info(
                "  %s round %d/%d, %-7s %4d requests in %.1f s: p50 %.0f ms, p95 %.0f ms%s",
                name, r + 1, rounds, side, len(got), time.perf_counter() - started, p["p50"], p["p95"],
                f"; {len(failed)} not answered ({failed[0]})" if failed else "",
            )  # fmt: skip
    result: dict[str, Any] = {
        side: {**percentiles(t), "not_answered": len(failures[side])} for side, t in timings.items()
    }
    console, direct = result["console"], result["direct"]
    result["ratio"] = {q: round(console[q] / direct[q], 2) for q in ("p50", "p95", "p99")}
    result["console_own_ms"] = {q: round(console[q] - direct[q], 1) for q in ("p50", "p95", "p99")}
    log.info(
        "%s: console p50 %.0f / p95 %.0f / p99 %.0f ms; direct p50 %.0f / p95 %.0f / p99 %.0f ms; ratio p95 %.2f",
        name, console["p50"], console["p95"], console["p99"], direct["p50"], direct["p95"], direct["p99"],
        result["ratio"]["p95"],
    )  # fmt: skip
    return result


class Sink:
    """The SMTP server of the run: mail is counted and dropped."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.count += 1
        return "250 OK"


async def prepare(stack: LocalStack, private_key: str, users: int) -> tuple[str, list[Person], list[Person]]:
    """An open urgent conference, an agency inbox with 60 items, and the signed-in people."""
    api = Http()
    console = stack.url(WARD, "console")
    secretary = {"X-API-Key": dev_key(WARD, "secretary"), "Content-Type": "application/json"}
    starts = (datetime.now(VIETNAM) + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    plan = {
        "title": "Hội nghị đối thoại đo tải",
        "starts_at": starts,
        "venue": "Nhà văn hóa tổ dân phố số 1",
        "chairs": ["committee_chair"],
        "urgent": True,
        "urgent_reason": "Đo hiệu năng",
    }
    status, _, body = await api.request(
        "POST", f"{stack.url(WARD, 'scheduling')}/api/v1/conferences", body=json.dumps(plan).encode(), headers=secretary
    )
    assert status == 201, body
    conference_id = json.loads(body)["id"]
    status, _, body = await api.request(
        "POST",
        f"{stack.url(WARD, 'scheduling')}/api/v1/conferences/{conference_id}/open",
        body=b"{}",
        headers=secretary,
    )
    assert status == 200, body
    log.info("conference %s open; filling an agency's inbox with %d opinions", conference_id, INBOX)
    codes = []
    for i in range(INBOX):
        item = {"text": INBOX_TEXTS[i % len(INBOX_TEXTS)].format(i=1000 + i), "channel": "written"}
        status, _, body = await api.request(
            "POST", f"{stack.url(WARD, 'intake')}/api/v1/opinions", body=json.dumps(item).encode(), headers=secretary
        )
        assert status == 201, body
        codes.append(json.loads(body)["tracking_code"])
    operator = {"X-API-Key": dev_key(WARD, "operator")}
    assignment = stack.url(WARD, "assignment")
    deadline = time.monotonic() + 120
    while True:
        status, _, body = await api.request("GET", f"{assignment}/api/v1/opinions?per_page=200", headers=operator)
        held = {a["tracking_code"]: a["agency_id"] for a in json.loads(body)["items"]}
        if all(code in held for code in codes):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(held)} of {INBOX} opinions were assigned in 120 s")
        await asyncio.sleep(0.2)
    agency = max(set(held.values()), key=list(held.values()).count)  # the agency most of them went to
    _, _, body = await api.request("GET", f"{assignment}/api/v1/agencies", headers=operator)
    agency_name = next(a["name"] for a in json.loads(body) if a["id"] == agency)
    log.info("the inbox of %s (%s) holds %d of them", agency_name, agency, list(held.values()).count(agency))
    api.close()

    def person(username: str, identity: tokens.Person) -> Person:
        return Person(console, username, identity, private_key)

    # The identities the console signs for these accounts (services/console/app.py: DEV_ACCOUNTS, agencies).
    secretaries = [
        person(
            "thu-ky",
            tokens.Person(
                username="thu-ky",
                name="Nguyễn Thị Thư",
                roles=("secretary",),
                position="Công chức Văn phòng, thư ký hội nghị",
                address="127.0.0.1",
            ),
        )
        for _ in range(users)
    ]
    agencies = [
        person(
            agency,  # the development account of an agency is named by its id
            tokens.Person(
                username=agency,
                name=f"Cán bộ {agency_name}",
                roles=("agency",),
                position=agency_name,
                agency_id=agency,
                address="127.0.0.1",
            ),
        )
        for _ in range(users)
    ]
    log.info("signing in %d secretaries and %d agency people through the console", users, users)
    for p in secretaries + agencies:
        await p.sign_in()
    return conference_id, secretaries, agencies


async def drained(stack: LocalStack, timeout: float = 600) -> None:
    """Wait until assignment holds every opinion intake received so far (classified, tabled or assigned)."""
    api = Http()
    operator = {"X-API-Key": dev_key(WARD, "operator")}
    deadline = time.monotonic() + timeout
    try:
        while True:
            totals = []
            for service in ("intake", "assignment"):
                url = f"{stack.url(WARD, service)}/api/v1/opinions?per_page=1"
                totals.append(json.loads((await api.request("GET", url, headers=operator))[2])["total"])
            received, held = totals
            if held >= received:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{received - held} opinions still not classified after {timeout:.0f} s")
            log.info("  %d opinions still being classified; waiting", received - held)
            await asyncio.sleep(5)
    finally:
        api.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    var, rules = fresh_run(args.out / "console", land="district")
    admin = RabbitAdmin(args.management)
    delete_vhosts(admin, [WARD])
    sink = Sink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack = LocalStack(
        HIERARCHY,
        var,
        smtp_port=smtp_port,
        ports=Ports(args.port_base),
        extra_env={"DOITHOAI_JURISDICTION_RULES": str(rules), "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "0"},
    )
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "users": args.users,
        "rounds": args.rounds,
        "requests_per_user_per_round": args.each,
        "think_s": args.think_s,
    }
    log.info("starting the ward %s: four services and its console", WARD)
    people: list[Person] = []
    try:
        stack.start()
        private_key = (var / "keys" / WARD / "console.pem").read_text()
        conference_id, secretaries, agencies = await prepare(stack, private_key, args.users)
        people = secretaries + agencies
        scenarios = Scenarios(stack, conference_id)
        # Intake learns that the conference opened from an event: wait until it takes direct opinions.
        for _ in range(100):
            try:
                await scenarios.record_direct(secretaries[0], 0)
                break
            except Refused:
                await asyncio.sleep(0.1)
        record = {"console": scenarios.record_console, "direct": scenarios.record_direct}
        inbox = {"console": scenarios.inbox_console, "direct": scenarios.inbox_direct}
        # At work: each person pauses `think_s` on average between actions. Then back to back (saturated).
        for suffix, think in (("", args.think_s), ("_saturated", 0.0)):
            results[f"record_opinion{suffix}"] = await measure(
                f"record an opinion{suffix.replace('_', ', ')}", secretaries, record, args.rounds, args.each, think
            )
            await drained(stack)  # the inbox is measured under its own load, not behind the opinions just recorded
            results[f"agency_inbox{suffix}"] = await measure(
                f"agency inbox{suffix.replace('_', ', ')}", agencies, inbox, args.rounds, args.each, think
            )
        results["mail_delivered"] = sink.count
    finally:
        for p in people:
            p.http.close()
        stack.stop()
        smtp.stop()
        delete_vhosts(admin, [WARD])
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        f"console at {results['users']} concurrent signed-in users ({results['when']}); at work: a pause of "
        f"{results['think_s']} s on average between a person's actions; saturated: none"
    ]
    for key, name in (
        ("record_opinion", "record an opinion (POST)"),
        ("agency_inbox", "agency inbox page (GET)"),
        ("record_opinion_saturated", "record, saturated"),
        ("agency_inbox_saturated", "inbox, saturated"),
    ):
        r = results[key]
        for side in ("console", "direct"):
            p = r[side]
            lines.append(
                f"  {name:<26} {side:<8} p50 {p['p50']:6.1f} ms  p95 {p['p95']:6.1f} ms  p99 {p['p99']:6.1f} ms"
                f"  ({p['n']} answered, {p['not_answered']} not)"
            )
        ratio, own = r["ratio"], r["console_own_ms"]
        lines.append(
            f"  {'':<26} console/direct p50 ×{ratio['p50']:.2f}  p95 ×{ratio['p95']:.2f}  p99 ×{ratio['p99']:.2f};"
            f" the console's own p50 {own['p50']:+.1f} ms, p95 {own['p95']:+.1f} ms"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="concurrent signed-in people per scenario")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, console and direct in turn")
    parser.add_argument("--each", type=int, default=6, help="requests per person per round")
    parser.add_argument("--think-s", type=float, default=2.0, help="mean pause between a person's actions at work")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--management", default="http://127.0.0.1:15672")
    parser.add_argument("--port-base", type=int, default=8700)
    args = parser.parse_args()
    start_logging()
    args.out.mkdir(parents=True, exist_ok=True)
    results = asyncio.run(run(args))
    write_json(args.out / "console.json", results)
    print(report(results))
    print(f"\nwritten: {args.out / 'console.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
