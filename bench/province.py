"""`make bench-province`: a whole province on this machine, in hosted mode, at 1, 32 and 127 instances.

For each size, a generated province (one city-level instance and its communes and wards, linked by
shovels) runs on four processes, one per service, each hosting every instance (shared/hosting.py),
on a RabbitMQ node of its own, started fresh for the run with a province broker's settings
(deploy/rabbitmq/province.conf; bench/broker.py), and one SecantusDB:
  1. start-up of the whole province: vhosts, users and shovels, the database, the four processes,
     every instance ready and every link running;
  2. idle: resident memory and CPU of the four service processes over a quiet minute, RabbitMQ's
     memory and its queue count;
  3. load: opinions at a fixed rate (10/s) spread over random communes, one in five a land matter
     that goes up to the province on receipt: receipt → agency notified (its mail at the SMTP server)
     p50/p95/p99, and the escalation round trip (submitted at the commune → the province's agency
     notified, + answered there → the commune's mail of the answer to its citizen); nothing may be lost;
  4. memory again after the load.
The cost per added instance is the slope between sizes. Then the largest size once more on a node with
RabbitMQ's default settings: the baseline the province settings are compared with, in the same run.
Results: var/bench/province.json and var/bench/province.png.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from pymongo import AsyncMongoClient

from bench import fresh_run, memory_mb, start_logging, write_json
from bench.broker import RabbitNode
from bench.pipeline import LAND, TEXTS, MailSink, Poster, cpu_seconds, key, percentiles
from deploy.links import Hierarchy, InstanceSpec
from deploy.localstack.processes import free_port
from deploy.localstack.stack import BACKENDS, LocalStack, Ports

log = logging.getLogger("bench")

PROVINCE = "bp-tinh"
TARGETS = {"service_rss_mb": 3 * 1024, "rabbitmq_mb": 2 * 1024, "idle_cpu_pct": 10, "startup_s": 180}


def province(size: int, broker: RabbitNode) -> Hierarchy:
    """The province and size − 1 communes and wards under it, on `broker`."""
    where = {"amqp": broker.amqp, "management": broker.management}
    units = [
        InstanceSpec(
            id=f"bp-xa-{k:03d}" if k % 3 else f"bp-phuong-{k:03d}",
            name=f"Xã Thử Tải {k}" if k % 3 else f"Phường Thử Tải {k}",
            level="commune" if k % 3 else "ward",
            parent=PROVINCE,
            **where,
        )
        for k in range(1, size)
    ]
    return Hierarchy(instances=[*units, InstanceSpec(id=PROVINCE, name="Tỉnh Thử Tải", level="city", **where)])


def rss_mb(stack: LocalStack) -> dict[str, float]:
    out = {}
    for (_, service), proc in stack.processes.items():
        assert proc.process is not None
        out[service] = memory_mb(proc.process.pid)["VmRSS"]
    return out


def broker_figures(broker: RabbitNode) -> dict[str, Any]:
    """The node's own account of its memory (with what takes most of it), its resident memory, its objects."""
    with httpx.Client(base_url=broker.management, auth=("guest", "guest"), timeout=60) as http:
        node: dict[str, Any] = {}
        for _ in range(60):  # the node reports its figures once per statistics interval
            node = http.get("/api/nodes").raise_for_status().json()[0]
            if "mem_used" in node:
                break
            time.sleep(1)
        breakdown = http.get(f"/api/nodes/{broker.name}/memory").raise_for_status().json()["memory"]
        totals = http.get("/api/overview").raise_for_status().json()["object_totals"]
        queues = http.get("/api/queues", params={"columns": "type"}).raise_for_status().json()
    types: dict[str, int] = {}
    for queue in queues:
        types[queue["type"]] = types.get(queue["type"], 0) + 1
    parts = {k: round(v / 2**20, 1) for k, v in breakdown.items() if isinstance(v, int) and k != "total"}
    return {
        "memory_mb": round(node["mem_used"] / 2**20, 1),
        "rss_mb": memory_mb(broker.pid)["VmRSS"],
        "largest_parts_mb": dict(sorted(parts.items(), key=lambda kv: -kv[1])[:6]),
        "queues": totals["queues"],
        "queues_by_type": types,
        "connections": totals["connections"],
    }


class CpuShares:
    """Share of one core each process used since this was made: the four services, RabbitMQ, the database
    server and this driver (which also receives the mail), so what the machine's two cores went to is seen."""

    def __init__(self, stack: LocalStack, broker: RabbitNode) -> None:
        self.pids = {svc: p.process.pid for (_, svc), p in stack.processes.items() if p.process}
        self.pids["secantusdb"] = stack.database.process.pid  # type: ignore[union-attr]
        self.broker = broker.pid
        self.before, self.t0 = cpu_seconds(self.pids, self.broker), time.time()

    def since(self) -> dict[str, float]:
        after, spent = cpu_seconds(self.pids, self.broker), time.time() - self.t0
        shares = {name: round(100 * (after[name] - self.before.get(name, 0)) / spent, 1) for name in after}
        shares["services"] = round(sum(shares[s] for s in BACKENDS), 1)
        return shares


async def db_operations(stack: LocalStack) -> int:
    """Operations the database server has counted so far (inserts, queries, updates, deletes, getMores, commands)."""
    async with AsyncMongoClient(stack.database.url) as client:
        counters = (await client.admin.command("serverStatus"))["opcounters"]
    return int(sum(counters.values()))


class Load:
    """Opinions at a fixed rate over random communes; escalated ones answered at the province."""

    def __init__(self, stack: LocalStack, sink: MailSink, units: list[str]) -> None:
        self.stack, self.sink, self.units = stack, sink, units
        self.poster = Poster()
        self.http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(keepalive_expiry=Poster.KEEP_IDLE_S))
        self.submitted: dict[str, tuple[str, float, bool]] = {}  # code → (instance, at, escalated)
        self.trips: list[float] = []
        self.unfinished: list[str] = []

    async def submit(self, i: int, rng: random.Random) -> None:
        unit = rng.choice(self.units)
        escalated = unit != PROVINCE and i % 5 == 0
        body: dict[str, Any] = {"text": TEXTS[i % len(TEXTS)].format(i=i), "channel": "online"}
        if escalated:  # a citizen who leaves an address, to be told the province's answer
            body |= {"text": LAND.format(i=i), "citizen": {"name": f"Cử tri {i}", "email": f"cu-tri-{i}@example.vn"}}
        started = time.time()
        status, answer = await self.poster.post(
            f"{self.stack.url(unit, 'intake')}/api/v1/opinions", body, key(unit, "front")
        )
        if status != 201:
            raise RuntimeError(f"submission refused at {unit}: HTTP {status} {answer}")
        code = str(answer["tracking_code"])
        self.submitted[code] = (unit, started, escalated)
        if escalated:
            try:
                await self.round_trip(code, unit, started)
            except httpx.HTTPError as exc:
                log.warning("  %s: the province did not answer in time (%r)", code, exc)
                self.unfinished.append(code)

    async def round_trip(self, code: str, unit: str, started: float) -> None:
        """Submitted at the commune → the province's agency told; answered there → the commune's mail of the
        answer to its citizen."""
        deadline = time.time() + 120

        async def mailed(box: dict[str, float]) -> bool:
            while code not in box:
                if time.time() > deadline:
                    self.unfinished.append(code)
                    return False
                await asyncio.sleep(0.05)
            return True

        if not await mailed(self.sink.arrived):
            return
        there = f"{self.stack.url(PROVINCE, 'assignment')}/api/v1/opinions/{code}"
        agency_id = (
            (await self.http.get(there, headers=key(PROVINCE, "operator"))).raise_for_status().json()["agency_id"]
        )
        answered = time.time()
        answer = {"kind": "written", "text": "Tỉnh đã chỉ đạo giải quyết.", "document_number": f"{code[-4:]}/UBND"}
        (
            await self.http.post(f"{there}/answer", json=answer, headers=key(PROVINCE, "agency", agency_id))
        ).raise_for_status()
        if await mailed(self.sink.answered):  # back down: the commune mails its citizen the answer
            self.trips.append((self.sink.arrived[code] - started) + (self.sink.answered[code] - answered))

    async def run(self, rate: float, seconds: float) -> dict[str, Any]:
        rng = random.Random(7)
        n = int(rate * seconds)
        start = time.time()
        tasks = []
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.time()))
            tasks.append(asyncio.create_task(self.submit(i, rng)))
            if (i + 1) % 100 == 0:
                log.info("  %d/%d submitted", i + 1, n)
        await asyncio.gather(*tasks)
        deadline = time.time() + 120
        while len(missing := [c for c in self.submitted if c not in self.sink.arrived]) and time.time() < deadline:
            await asyncio.sleep(0.2)
        # Each opinion's moment in the load and its latency (ms): whether the slow ones come together.
        timeline = sorted(
            (round(at - start, 2), round(1000 * (self.sink.arrived[c] - at)))
            for c, (_, at, _) in self.submitted.items()
            if c in self.sink.arrived
        )
        notified = [ms / 1000 for _, ms in timeline]
        escalated = sum(1 for _, _, up in self.submitted.values() if up)
        return {
            "rate_per_s": rate,
            "submitted": len(self.submitted),
            "escalated": escalated,
            "receipt_to_agency_notified_ms": percentiles(notified),
            "escalation_round_trip_ms": percentiles(self.trips),
            "lost": len(missing),
            "escalations_not_closed": len(self.unfinished),
            "notified_timeline_s_ms": timeline,
        }

    async def close(self) -> None:
        self.poster.close()
        await self.http.aclose()


async def measure(size: int, args: argparse.Namespace, tuned: bool = True) -> dict[str, Any]:
    broker = RabbitNode(args.out / "broker", tuned=tuned, port=args.broker_port)
    log.info("%d instance(s): a fresh RabbitMQ node (%s settings)", size, "province" if tuned else "default")
    broker.start()
    try:
        return await measure_on(broker, size, args) | {"broker_settings": "province" if tuned else "default"}
    finally:
        broker.stop()


async def measure_on(broker: RabbitNode, size: int, args: argparse.Namespace) -> dict[str, Any]:
    hierarchy = province(size, broker)
    var, rules = fresh_run(args.out / f"province-{size}", land="city")
    vhosts = [i.id for i in hierarchy.instances]
    sink = MailSink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    stack = LocalStack(
        hierarchy,
        var,
        smtp_port=smtp_port,
        ports=Ports(args.port_base),
        console=False,
        hosted=True,
        extra_env={"DOITHOAI_JURISDICTION_RULES": str(rules), "DOITHOAI_PUBLIC_RATE_PER_MINUTE": "0"},
    )
    result: dict[str, Any] = {"instances": size}
    log.info("%d instance(s): starting the province", size)
    started = time.time()
    try:
        stack.start(ready_timeout=args.start_timeout)
        result["startup_s"] = round(time.time() - started, 1)
        log.info("  started in %.0f s; quiet for %d s", result["startup_s"], args.idle)
        await asyncio.sleep(20)  # the first passes of every loop and the broker's settling are not idle
        cpu = CpuShares(stack, broker)
        ops = await db_operations(stack)
        await asyncio.sleep(args.idle)
        result["idle_cpu_pct"] = cpu.since()
        result["idle_db_ops_per_s"] = round(((await db_operations(stack)) - ops) / args.idle, 1)
        result["idle_rss_mb"] = {**rss_mb(stack)}
        result["idle_rss_mb"]["services"] = round(sum(result["idle_rss_mb"][s] for s in BACKENDS), 1)
        result["broker_idle"] = broker_figures(broker)
        log.info(
            "  idle: services %.0f MB, %.1f%% of a core; RabbitMQ %.0f MB, %d queues",
            result["idle_rss_mb"]["services"],
            result["idle_cpu_pct"]["services"],
            result["broker_idle"]["memory_mb"],
            result["broker_idle"]["queues"],
        )
        load = Load(stack, sink, vhosts)
        try:
            log.info("  %s opinions/s for %d s", args.rate, args.seconds)
            cpu, ops = CpuShares(stack, broker), await db_operations(stack)
            result["load"] = await load.run(args.rate, args.seconds)
            result["load"]["cpu_pct"] = cpu.since()
            result["load"]["db_ops_per_opinion"] = round(
                ((await db_operations(stack)) - ops) / max(1, result["load"]["submitted"]), 1
            )
        finally:
            await load.close()
        result["rss_mb_after_load"] = rss_mb(stack)
        result["rss_mb_after_load"]["services"] = round(sum(result["rss_mb_after_load"][s] for s in BACKENDS), 1)
        result["broker_after_load"] = broker_figures(broker)
        notified, trip = result["load"]["receipt_to_agency_notified_ms"], result["load"]["escalation_round_trip_ms"]
        log.info(
            "  receipt → agency notified p99 %s ms; escalation round trip p99 %s ms; lost %d",
            notified.get("p99"),
            trip.get("p99", "—"),
            result["load"]["lost"],
        )
        log.info(
            "  during the load, %% of a core: %s; %.1f database operations an opinion",
            ", ".join(f"{name} {share}" for name, share in result["load"]["cpu_pct"].items()),
            result["load"]["db_ops_per_opinion"],
        )
    finally:
        stack.stop()
        smtp.stop()
    return result


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["runs"]
    sizes = [r["instances"] for r in runs]
    fig, ((a, b), (c, d)) = plt.subplots(2, 2, figsize=(12, 8))
    fig.suptitle("doithoai — một tỉnh trên một máy (chế độ dùng chung tiến trình)")
    a.plot(sizes, [r["idle_rss_mb"]["services"] for r in runs], marker="o", label="4 tiến trình dịch vụ")
    a.plot(sizes, [r["broker_idle"]["memory_mb"] for r in runs], marker="s", label="RabbitMQ")
    a.axhline(TARGETS["service_rss_mb"], color="C0", linestyle="--", linewidth=1)
    a.axhline(TARGETS["rabbitmq_mb"], color="C1", linestyle="--", linewidth=1)
    a.set_title("Bộ nhớ khi nghỉ (MB)")
    a.legend()
    b.plot(sizes, [r["idle_cpu_pct"]["services"] for r in runs], marker="o", label="4 tiến trình dịch vụ")
    b.plot(sizes, [r["idle_cpu_pct"]["rabbitmq"] for r in runs], marker="s", label="RabbitMQ")
    b.axhline(TARGETS["idle_cpu_pct"], color="red", linestyle="--", linewidth=1)
    b.set_title("CPU khi nghỉ (% một lõi)")
    b.legend()
    c.plot(sizes, [r["startup_s"] for r in runs], marker="o")
    c.axhline(TARGETS["startup_s"], color="red", linestyle="--", linewidth=1)
    c.set_title("Khởi động cả tỉnh (giây)")
    d.plot(
        sizes, [r["load"]["receipt_to_agency_notified_ms"]["p99"] for r in runs], marker="o", label="nhận → báo cơ quan"
    )
    trips = [(r["instances"], r["load"]["escalation_round_trip_ms"].get("p99")) for r in runs]
    d.plot([s for s, p in trips if p], [p for _, p in trips if p], marker="s", label="vòng chuyển lên – trả lời")
    d.axhline(500, color="C0", linestyle="--", linewidth=1)
    d.axhline(2000, color="C1", linestyle="--", linewidth=1)
    d.set_title(f"p99 (ms) ở {runs[0]['load']['rate_per_s']} ý kiến/giây")
    d.legend()
    for ax in (a, b, c, d):
        ax.set_xlabel("số đơn vị")
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(results: dict[str, Any]) -> str:
    lines = [
        "",
        "instances  startup  services idle (MB, %core)  RabbitMQ idle (MB, queues)  p99 notified  p99 trip  lost",
    ]
    baseline = results.get("baseline_default_broker_settings")
    for r in [*results["runs"], *([baseline] if baseline else [])]:
        load, rss, cpu = r["load"], r["idle_rss_mb"]["services"], r["idle_cpu_pct"]["services"]
        lines.append(
            f"{r['instances']:>9}{'*' if r is baseline else ' '} {r['startup_s']:>6.0f}s  {rss:>10.0f} MB {cpu:>5.1f}%"
            f"  {r['broker_idle']['memory_mb']:>12.0f} MB {r['broker_idle']['queues']:>6}"
            f"  {load['receipt_to_agency_notified_ms'].get('p99', '—'):>10} ms"
            f"  {load['escalation_round_trip_ms'].get('p99', '—'):>7} ms  {load['lost']:>4}"
        )
    if baseline:
        tuned = results["runs"][-1]
        ratios = {
            "memory": tuned["broker_idle"]["memory_mb"] / baseline["broker_idle"]["memory_mb"],
            "idle CPU": tuned["idle_cpu_pct"]["rabbitmq"] / max(0.1, baseline["idle_cpu_pct"]["rabbitmq"]),
            "p99 notified": tuned["load"]["receipt_to_agency_notified_ms"]["p99"]
            / baseline["load"]["receipt_to_agency_notified_ms"]["p99"],
        }
        lines.append(
            "* RabbitMQ on its default settings; province settings against it: "
            + ", ".join(f"{name} × {ratio:.2f}" for name, ratio in ratios.items())
        )
    if len(results["runs"]) > 1:
        first, last = results["runs"][0], results["runs"][-1]
        added = last["instances"] - first["instances"]
        per = results["per_added_instance"]
        lines.append(
            f"per added instance ({first['instances']} → {last['instances']}, {added} added): services "
            f"{per['service_rss_mb']} MB, RabbitMQ {per['rabbitmq_mb']} MB, idle CPU {per['idle_cpu_pct']}% of a core"
        )
    return "\n".join(lines)


def per_added(runs: list[dict[str, Any]]) -> dict[str, float]:
    first, last = runs[0], runs[-1]
    added = max(1, last["instances"] - first["instances"])
    return {
        "service_rss_mb": round((last["idle_rss_mb"]["services"] - first["idle_rss_mb"]["services"]) / added, 2),
        "rabbitmq_mb": round((last["broker_idle"]["memory_mb"] - first["broker_idle"]["memory_mb"]) / added, 2),
        "idle_cpu_pct": round((last["idle_cpu_pct"]["services"] - first["idle_cpu_pct"]["services"]) / added, 3),
        "queues": round((last["broker_idle"]["queues"] - first["broker_idle"]["queues"]) / added, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,32,127", help="instances per run (the province included)")
    parser.add_argument("--rate", type=float, default=10.0, help="opinions a second during the load")
    parser.add_argument("--seconds", type=int, default=60, help="length of the load")
    parser.add_argument("--idle", type=int, default=60, help="seconds of quiet measured")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds allowed for start-up")
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--broker-port", type=int, default=5682, help="the bench's own RabbitMQ node (AMQP)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the largest size on default settings")
    parser.add_argument("--port-base", type=int, default=8700)
    args = parser.parse_args()
    start_logging()
    sizes = [int(size) for size in args.sizes.split(",")]
    runs = [asyncio.run(measure(size, args)) for size in sizes]
    baseline = None if args.no_baseline else asyncio.run(measure(max(sizes), args, tuned=False))
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": TARGETS,
        "runs": runs,
        "baseline_default_broker_settings": baseline,
    }
    results["per_added_instance"] = per_added(results["runs"])
    write_json(args.out / "province.json", results)
    chart(results, args.out / "province.png")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
