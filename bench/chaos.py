"""`make chaos`: faults under steady load, then a count of what was lost and what came twice.

A ward and its district run as in `make run` (four services each, a shovel each way). Opinions
arrive at a steady rate, each tagged with an id (its Idempotency-Key, so a client that resends
after a failure never makes a second opinion); one in five is about land, the district's matter,
and is escalated. An agency worker answers every opinion wherever it is held. Meanwhile, one
after another:
  - every service of the ward, and the district's assignment and notification, killed with
    SIGKILL (no chance to finish anything) and restarted;
  - RabbitMQ restarted (stop_app/start_app: every connection dropped, queues recovered from disk);
  - the database server killed with SIGKILL and restarted;
  - the SMTP server stopped for a minute;
  - the ward → district shovel stopped for a minute.
The load goes on until the last fault is over. Then it stops, everything drains, and the harness
compares what was submitted with what was assigned, escalated, answered, notified and closed, and
prints: submitted, completed, lost (must be 0), and every mail that came more than once, whatever
it was: a copy is excused only in the documented window (the same notification, by its Message-ID,
taken by the SMTP server just before a kill of the notification service, which had not yet recorded
it as sent); mails about an opinion nobody submitted (a resend that made a second one) are counted
apart and are never excused; then every dead-lettered message with the reason RabbitMQ recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from bench import delete_vhosts, fresh_run, start_logging, write_json
from deploy.dead_letters import peek
from deploy.links import Hierarchy, InstanceSpec, connect
from deploy.localstack.processes import free_port
from deploy.localstack.stack import LocalStack, Ports, dev_key
from shared.messaging.admin import RabbitAdmin
from shared.messaging.links import shovel_name

log = logging.getLogger("chaos")

WARD, DISTRICT = "chaos-phuong", "chaos-quan"
HIERARCHY = Hierarchy(
    instances=[
        InstanceSpec(id=WARD, name="Phường Thử Lỗi", level="ward", parent=DISTRICT),
        InstanceSpec(id=DISTRICT, name="Quận Thử Lỗi", level="district"),
    ]
)
FRONT = {"X-API-Key": dev_key(WARD, "front")}


def key(instance: str, role: str, agency_id: str | None = None) -> dict[str, str]:
    return {"X-API-Key": dev_key(instance, role, agency_id)}


TEXTS = [
    "Đèn đường ngõ {n} bị hỏng, đề nghị sửa chữa",
    "Rác thải tập kết ở đầu ngõ {n} không được thu gom",
    "Đề nghị tăng cường an ninh trật tự khu vực tổ {n}",
    "Kênh mương nội đồng xứ {n} bị bồi lắng",
]
LAND = "Đề nghị giải quyết tranh chấp đất thửa số {n}"
CODE = re.compile(r"YK-[0-9A-Z]{4}-[0-9A-Z]{4}")
HEADERS = BytesHeaderParser(policy=policy.default)
KINDS = {"Giao xử lý": "agency_notice", "Đã tiếp nhận": "citizen_ack", "Trả lời ý kiến": "citizen_answer"}
WINDOW_S = 5.0  # from the SMTP server's 250 to the notification recorded as sent, at worst under this load


@dataclass(frozen=True)
class Received:
    when: float
    kind: str  # a known kind, or the subject without its code
    code: str
    to: str
    message_id: str


class Mail:
    """The SMTP server everyone sends to; it can be stopped and started, and counts what arrives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[Received] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        headers = HEADERS.parsebytes(envelope.original_content)
        subject = str(headers["Subject"] or "")
        code = CODE.search(subject)
        kind = next((k for prefix, k in KINDS.items() if prefix in subject), CODE.sub("…", subject))
        to = ",".join(sorted(envelope.rcpt_tos))
        when = time.time()
        self.received.append(Received(when, kind, code.group(0) if code else "", to, str(headers["Message-ID"])))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def count(self, kind: str) -> collections.Counter[str]:
        return collections.Counter(m.code for m in self.received if m.kind == kind)


@dataclass
class Opinion:
    tag: str
    land: bool
    code: str | None = None
    answered_at: str | None = None  # the instance that took the answer
    closed: bool = False


@dataclass
class Run:
    opinions: list[Opinion] = field(default_factory=list)
    faults: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, what)
    notification_kills: list[float] = field(default_factory=list)
    submit_retries: int = 0


class Harness:
    def __init__(self, stack: LocalStack, mail: Mail, admin: RabbitAdmin) -> None:
        self.stack = stack
        self.mail = mail
        self.admin = admin
        self.http = httpx.AsyncClient(timeout=10)
        self.run = Run()
        self.loading = True
        self.faulting = True
        self.started = time.time()
        self.held: set[tuple[str, str]] = set()  # services the harness is killing: not for the supervisor

    def url(self, instance: str, service: str) -> str:
        return self.stack.url(instance, service)

    # The load: citizens' opinions, and the agencies answering them.

    async def submit(self, opinion: Opinion, n: int) -> None:
        text = (LAND if opinion.land else random.choice(TEXTS)).format(n=n)
        body = {"text": text, "channel": "online", "citizen": {"name": "Người dân", "email": f"dan{n}@chaos.vn"}}
        while True:
            try:
                r = await self.http.post(
                    f"{self.url(WARD, 'intake')}/api/v1/opinions",
                    json=body,
                    headers={**FRONT, "Idempotency-Key": opinion.tag},
                )
                if r.status_code in (200, 201):
                    opinion.code = r.json()["tracking_code"]
                    return
            except httpx.HTTPError:
                pass
            self.run.submit_retries += 1
            await asyncio.sleep(1)

    async def load(self, rate: float, seconds: float) -> None:
        """At a steady rate for at least `seconds`, and until the last fault is over."""
        started = time.time()
        tasks = []
        n = 0
        while self.faulting or time.time() - started < seconds:
            opinion = Opinion(tag=f"chaos-{int(started)}-{n:05d}", land=random.random() < 0.2)
            self.run.opinions.append(opinion)
            tasks.append(asyncio.create_task(self.submit(opinion, n)))
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.time()))
        await asyncio.gather(*tasks)
        self.loading = False

    async def answer(self, opinion: Opinion) -> None:
        """Answer the opinion where it is held now, once."""
        for instance in (WARD, DISTRICT):
            url = f"{self.url(instance, 'assignment')}/api/v1/opinions/{opinion.code}"
            r = await self.http.get(url, headers=key(instance, "operator"))
            if r.status_code != 200 or r.json()["status"] != "assigned":
                continue
            answer = {"kind": "written", "text": "Cơ quan đã xử lý xong.", "document_number": f"{opinion.tag}/CV"}
            agency = key(instance, "agency", r.json()["agency_id"])  # the agency it is assigned to answers it
            r = await self.http.post(f"{url}/answer", json=answer, headers=agency)
            if r.status_code in (200, 409):  # 409: already answered (a retry after a lost response)
                opinion.answered_at = instance
            return

    async def agencies(self) -> None:
        while self.loading or any(o.answered_at is None for o in self.run.opinions):
            for opinion in [o for o in self.run.opinions if o.code and o.answered_at is None]:
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                    await self.answer(opinion)
            await asyncio.sleep(0.5)

    # The faults.

    async def fault(self, what: str, action: Any, seconds: float = 0) -> None:
        log.info("FAULT: %s", what)
        start = time.time()
        await action()
        if seconds:
            await asyncio.sleep(seconds)
        self.run.faults.append((start, time.time(), what))

    async def kill(self, instance: str, service: str) -> None:
        async def go() -> None:
            proc = self.stack.processes[(instance, service)]
            self.held.add((instance, service))
            if service == "notification":
                self.run.notification_kills.append(time.time())
            proc.kill(signal.SIGKILL)
            await asyncio.sleep(3)
            proc.start()
            self.held.discard((instance, service))
            await asyncio.to_thread(proc.wait_ready, 120)

        await self.fault(f"SIGKILL {instance}/{service}, restarted 3 s later", go)

    async def restart_rabbitmq(self) -> None:
        async def go() -> None:
            await asyncio.to_thread(_sh, "rabbitmqctl", "stop_app")
            await asyncio.sleep(5)
            await asyncio.to_thread(_sh, "rabbitmqctl", "start_app")
            await asyncio.to_thread(_sh, "rabbitmqctl", "await_startup")

        await self.fault("RabbitMQ restarted (stop_app, 5 s, start_app)", go)

    async def restart_database(self) -> None:
        async def go() -> None:
            process = self.stack.database.process
            process.kill()
            process.wait()
            await asyncio.sleep(5)
            await asyncio.to_thread(self.stack.database.start)

        await self.fault("SIGKILL of the database server, restarted 5 s later", go)

    async def smtp_down(self, seconds: float) -> None:
        async def go() -> None:
            self.mail.stop()

        await self.fault(f"SMTP server stopped for {seconds:.0f} s", go, seconds)
        self.mail.start()

    async def shovel_down(self, seconds: float) -> None:
        name = shovel_name(WARD, DISTRICT)

        async def go() -> None:
            self.admin.delete_shovel(WARD, name)

        await self.fault(f"shovel {name} stopped for {seconds:.0f} s", go, seconds)
        connect(self.stack.hierarchy, self.stack.creds)

    def steps(self, outage: float) -> dict[str, Any]:
        kills = [(WARD, s) for s in ("intake", "assignment", "notification", "scheduling")]
        kills += [(DISTRICT, "assignment"), (DISTRICT, "notification")]
        return {
            **{f"kill-{i}/{s}": (lambda i=i, s=s: self.kill(i, s)) for i, s in kills},
            "rabbitmq": self.restart_rabbitmq,
            "database": self.restart_database,
            "smtp": lambda: self.smtp_down(outage),
            "shovel": lambda: self.shovel_down(outage),
        }

    async def faults(self, steps: list[Any], pause: float) -> None:
        for step in steps:
            await asyncio.sleep(pause)
            await step()
        await asyncio.sleep(pause)
        self.faulting = False

    # The verdict.

    async def closed(self, opinion: Opinion) -> bool:
        if not opinion.closed and opinion.code:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                r = await self.http.get(f"{self.url(WARD, 'intake')}/api/v1/opinions/{opinion.code}")
                opinion.closed = r.status_code == 200 and r.json()["status"] == "closed"
        return opinion.closed

    def completed(self) -> list[Opinion]:
        """Closed, the agency told of it and the citizen of its answer."""
        notices, answers = self.mail.count("agency_notice"), self.mail.count("citizen_answer")
        return [o for o in self.run.opinions if o.closed and notices[o.code] and answers[o.code]]

    async def drain(self, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for opinion in self.run.opinions:
                await self.closed(opinion)
            pending = len(self.run.opinions) - len(self.completed())
            if not pending:
                return
            log.info("draining: %d opinions not yet closed with the agency and the citizen told", pending)
            await asyncio.sleep(5)

    async def dead_letters(self) -> list[dict[str, Any]]:
        found = []
        for inst in self.stack.hierarchy.instances:
            amqp = inst.uri(inst.user, self.stack.creds.instance(inst.id))
            for queue in self.admin.queues(inst.id):
                if queue["name"].endswith(".dead") and queue.get("messages", 0):
                    for message in await peek(amqp, queue["name"], limit=50):
                        death = (message["death"] or [{}])[0]
                        found.append(
                            {
                                "instance": inst.id,
                                "queue": queue["name"],
                                "message_id": message["message_id"],
                                "reason": death.get("reason"),
                                "count": death.get("count"),
                            }
                        )
        return found

    def duplicates(self) -> dict[str, Any]:
        """Every mail that came more than once (the same kind, about the same opinion, to the same
        people), by kind, and how many copies fall outside the documented window: all copies one
        notification (one Message-ID), the first taken by the SMTP server at most WINDOW_S before a
        kill of the notification service."""
        copies: dict[tuple[str, str, str], list[Received]] = collections.defaultdict(list)
        for mail in self.mail.received:
            copies[mail.kind, mail.code, mail.to].append(mail)
        extra: collections.Counter[str] = collections.Counter()
        outside = 0
        for (kind, _, _), mails in copies.items():
            if len(mails) == 1:
                continue
            extra[kind] += len(mails) - 1
            first = mails[0].when
            one_notification = len({m.message_id for m in mails}) == 1
            if not (one_notification and any(0 <= kill - first <= WINDOW_S for kill in self.run.notification_kills)):
                outside += len(mails) - 1
        codes = {o.code for o in self.run.opinions}
        strays = [m for m in self.mail.received if m.code not in codes]
        return {"by_kind": dict(extra), "outside_window": outside, "strays": strays}

    def figures(self, dead: list[dict[str, Any]]) -> dict[str, Any]:
        ops = self.run.opinions
        notices = self.mail.count("agency_notice")
        acks = self.mail.count("citizen_ack")
        duplicates = self.duplicates()
        completed = self.completed()
        return {
            "submitted": len(ops),
            "submit_retries": self.run.submit_retries,
            "escalated": sum(o.land for o in ops),
            "answered": sum(o.answered_at is not None for o in ops),
            "answered_at_district": sum(o.answered_at == DISTRICT for o in ops),
            "agency_notified": sum(1 for o in ops if notices[o.code]),
            "citizens_acknowledged": sum(1 for o in ops if acks[o.code]),
            "completed": len(completed),
            "lost": len(ops) - len(completed),
            "lost_tags": [o.tag for o in ops if o not in completed][:20],
            "mails": len(self.mail.received),
            "duplicated_mails": duplicates["by_kind"],
            "duplicates_outside_the_smtp_window": duplicates["outside_window"],
            "mails_about_unknown_opinions": [f"{m.kind} {m.code or '-'} → {m.to}" for m in duplicates["strays"]],
            "dead_lettered": dead,
            "faults": [{"at_s": round(s - self.started, 1), "lasted_s": round(e - s, 1), "what": w} for s, e, w in
                       self.run.faults],
        }  # fmt: skip

    async def close(self) -> None:
        await self.http.aclose()


def _sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=180)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    var, rules = fresh_run(args.out, land="district")
    admin = RabbitAdmin(args.management)
    vhosts = [inst.id for inst in HIERARCHY.instances]
    delete_vhosts(admin, vhosts)
    mail = Mail(free_port())
    mail.start()
    stack = LocalStack(
        HIERARCHY,
        var,
        smtp_port=mail.port,
        ports=Ports(args.port_base),
        console=False,  # the measured pipeline is the four services'
        extra_env={
            "DOITHOAI_JURISDICTION_RULES": str(rules),
            "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "0",
            "DOITHOAI_SMTP_TIMEOUT_S": "5",
        },
    )
    stack.start()
    harness = Harness(stack, mail, admin)
    supervisor = asyncio.create_task(_supervise(stack, harness.held))
    try:
        log.info("load: %.1f opinions/s until the faults are over, one every %.0f s", args.rate, args.pause)
        steps = harness.steps(args.outage)
        chosen = [steps[name] for name in args.faults.split(",")] if args.faults else list(steps.values())
        await asyncio.gather(
            harness.load(args.rate, args.seconds), harness.agencies(), harness.faults(chosen, args.pause)
        )
        log.info("load over; draining (up to %.0f s)", args.drain)
        await harness.drain(args.drain)
        dead = await harness.dead_letters()
        return harness.figures(dead)
    finally:
        supervisor.cancel()
        await harness.close()
        stack.stop()
        mail.stop()
        delete_vhosts(admin, vhosts)


async def _supervise(stack: LocalStack, held: set[tuple[str, str]]) -> None:
    """As `make run` does: a service that exits on its own is started again, and that is logged."""
    while True:
        await asyncio.sleep(5)
        for key, proc in stack.processes.items():
            if key not in held and not proc.alive():
                log.warning("%s/%s exited on its own; restarting", *key)
                proc.start()


def report(f: dict[str, Any]) -> str:
    lines = ["", "faults:"]
    lines += [f"  {x['at_s']:>6.0f} s  {x['what']} ({x['lasted_s']:.0f} s)" for x in f["faults"]]
    lines += [
        "",
        f"submitted                      {f['submitted']}  (resent after a failure: {f['submit_retries']} times)",
        f"escalated to the district      {f['escalated']}",
        f"agency notified                {f['agency_notified']}",
        f"answered                       {f['answered']}  (at the district: {f['answered_at_district']})",
        f"completed                      {f['completed']}  (closed; the agency and the citizen told)",
        f"LOST                           {f['lost']}" + (f"  e.g. {', '.join(f['lost_tags'])}" if f["lost"] else ""),
        f"mails received                 {f['mails']}",
        f"DUPLICATED mails               {sum(f['duplicated_mails'].values())}  {f['duplicated_mails'] or ''}",
        f"  of those, outside the documented SMTP window: {f['duplicates_outside_the_smtp_window']}",
        f"mails about no submitted opinion (a resend that made a second one): {len(f['mails_about_unknown_opinions'])}",
        f"dead-lettered                  {len(f['dead_lettered'])}",
    ]
    lines += [
        f"  {d['instance']} {d['queue']} {d['message_id']}: {d['reason']} ×{d['count']}" for d in f["dead_lettered"]
    ]
    lines += [f"  stray: {m}" for m in f["mails_about_unknown_opinions"][:20]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=3.0, help="opinions a second")
    parser.add_argument(
        "--seconds", type=float, default=60, help="shortest length of the load (it lasts until the last fault is over)"
    )
    parser.add_argument("--pause", type=float, default=25, help="seconds between faults")
    parser.add_argument("--outage", type=float, default=60, help="how long SMTP and the shovel stay down")
    parser.add_argument("--drain", type=float, default=600, help="longest wait for the backlog after the load")
    parser.add_argument(
        "--faults",
        help="comma-separated subset, in order: kill-<instance>/<service>, rabbitmq, "
        "database, smtp, shovel (default: all)",
    )
    parser.add_argument("--out", type=Path, default=Path("var/chaos"))
    parser.add_argument("--management", default="http://127.0.0.1:15672")
    parser.add_argument("--port-base", type=int, default=8800)
    args = parser.parse_args()
    start_logging()
    args.out.mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(main_async(args))
    write_json(args.out / "chaos.json", figures)
    print(report(figures))
    print(f"\nwritten: {args.out / 'chaos.json'}")
    failed = figures["lost"] or figures["duplicates_outside_the_smtp_window"] or figures["mails_about_unknown_opinions"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
