"""`python -m bench.reports`: how long a period report takes as the data grows.

A report at an instance counts that instance's own opinions in the database and adds up the
summaries its children sent. So two sizes matter, measured separately here on a real
MongoDB-protocol server (SecantusDB, or --mongo for a real MongoDB):
  - the instance's own opinions for the year (1k, 10k, 100k), and
  - the number of children whose summaries it rolls up (a city with 30, 300 wards), each child
    standing for thousands of opinions that the city never reads.
Times are reported with the smallest case as the baseline (ratios), and written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploy.localstack.processes import SecantusServer
from shared.events import Figures, Summary
from shared.events.vocabulary import FIELDS

CHANNELS = ["front_collected", "direct", "written", "online"]
HEADS = ["party_secretary", "council_chair", "committee_chair"]


def opinion(i: int, start: datetime) -> dict:  # type: ignore[type-arg]
    submitted = start + timedelta(minutes=i % (360 * 24 * 60))
    status = random.choice(["assigned", "answered", "answered", "escalated"])
    doc = {
        "_id": str(uuid.uuid4()),
        "tracking_code": f"YK-B{i:08d}",
        "origin_instance": "bench",
        "came_from": None,
        "channel": random.choice(CHANNELS),
        "field": random.choice(list(FIELDS)),
        "head": random.choice(HEADS),
        "status": status,
        "submitted_at": submitted,
        "due_at": submitted + timedelta(days=30),
    }
    if status == "answered":
        days = random.randint(0, 40)
        doc["answer"] = {"kind": random.choice(["on_the_spot", "written"]), "days": days, "on_time": days <= 30}
    if status == "escalated":
        doc["escalation"] = {"to_level": "district"}
    return doc


def child_summary(i: int, period: str) -> dict:  # type: ignore[type-arg]
    own = Figures(
        received=2000,
        by_channel={"front_collected": 1500, "direct": 500},
        by_field={"land": 800, "traffic": 1200},
        on_time=1800,
        overdue=200,
        answer_days={"0": 500, "15": 1300, "40": 200},
    )
    return Summary(instance=f"ward-{i}", name=f"Phường {i}", level="ward", period=period,
                   generated_at=datetime.now(UTC), own=own).model_dump(mode="python")  # fmt: skip


async def run(mongo_url: str, sizes: list[int], children: list[int]) -> dict:  # type: ignore[type-arg]
    os.environ.update({"DOITHOAI_INSTANCE_ID": f"bench-{uuid.uuid4().hex[:6]}", "DOITHOAI_MONGO_URL": mongo_url})
    from services.assignment.app import create_app

    app = create_app()
    summaries, repository = app.state.assignment.summaries, app.state.assignment.repository
    await repository.create_indexes()
    assignments = app.state.runtime.db["assignments"]
    period = "2026"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    results: dict = {"own_opinions": [], "children": []}  # type: ignore[type-arg]
    inserted = 0
    for size in sizes:
        print(f"… storing {size} opinions", flush=True)
        while inserted < size:
            batch = [opinion(i, start) for i in range(inserted, min(size, inserted + 5000))]
            await assignments.insert_many(batch)
            inserted += len(batch)
        began = time.perf_counter()
        summary = await summaries.summary(period)
        elapsed = time.perf_counter() - began
        assert summary.own.received + summary.own.redirected <= size
        results["own_opinions"].append({"opinions": size, "seconds": round(elapsed, 3)})
        print(f"{size:>8} own opinions: report in {elapsed:.2f} s", flush=True)
    await repository.assignments.delete_many({})
    for count in children:
        stored = await repository.child_summaries.count_documents({})
        for i in range(stored, count):
            await repository.store_child_summary(f"ward-{i}", period, child_summary(i, period), datetime.now(UTC))
        began = time.perf_counter()
        summary = await summaries.summary(period)
        total = summary.total()
        elapsed = time.perf_counter() - began
        assert total.received == 2000 * count
        results["children"].append({"children": count, "opinions_behind": total.received, "seconds": round(elapsed, 3)})
        print(f"{count:>8} children ({total.received} opinions behind them): report in {elapsed:.2f} s", flush=True)
    for key, unit in (("own_opinions", "opinions"), ("children", "children")):
        base = results[key][0]
        for r in results[key]:
            r["ratio_to_smallest"] = round(r["seconds"] / max(base["seconds"], 1e-6), 2)
            r["growth_of_size"] = round(r[unit] / base[unit], 2)
    await app.state.runtime.mongo.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mongo", help="MongoDB URL (default: a SecantusDB started for the run)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--children", default="30,300")
    parser.add_argument("--out", type=Path, default=Path("var/bench/reports.json"))
    args = parser.parse_args()
    server = None
    if args.mongo is None:
        server = SecantusServer(Path(tempfile.mkdtemp(prefix="bench-db-")))
        server.start()
    try:
        results = asyncio.run(run(args.mongo or server.url, [int(s) for s in args.sizes.split(",")],  # type: ignore[union-attr]
                                  [int(c) for c in args.children.split(",")]))  # fmt: skip
    finally:
        if server:
            server.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print("\nown opinions → report time (ratio to the smallest):")
    for r in results["own_opinions"]:
        print(
            f"  {r['opinions']:>8}  {r['seconds']:>7.2f} s   ×{r['ratio_to_smallest']} for ×{r['growth_of_size']} data"
        )
    print("children rolled up → report time:")
    for r in results["children"]:
        behind = r["opinions_behind"]
        print(f"  {r['children']:>8}  {r['seconds']:>7.2f} s   ×{r['ratio_to_smallest']} ({behind} opinions behind)")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
