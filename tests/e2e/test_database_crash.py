"""An acknowledged write survives a crash of the database server (SIGKILL, then a restart)."""

from __future__ import annotations

import asyncio
import signal

from deploy.localstack.processes import SecantusServer
from shared.storage.mongo import connect


async def test_every_acknowledged_write_survives_a_kill_of_the_database_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = SecantusServer(tmp_path / "db", log=tmp_path / "secantus.log")
    server.start()
    client = connect(server.url)
    acknowledged: list[str] = []

    async def writer(k: int) -> None:
        for i in range(1000):
            doc_id = f"{k}-{i}"
            await client.t.opinions.insert_one({"_id": doc_id, "text": "Đề nghị sửa đường " * 20})
            acknowledged.append(doc_id)

    writers = [asyncio.create_task(writer(k)) for k in range(8)]
    try:
        while len(acknowledged) < 200:  # writes in full flow when the server dies
            await asyncio.sleep(0.01)
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        await asyncio.gather(*writers, return_exceptions=True)
        server.start()
        stored = {d["_id"] async for d in client.t.opinions.find({}, {"_id": 1})}
        lost = [doc_id for doc_id in acknowledged if doc_id not in stored]
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged writes lost, e.g. {lost[:5]}"
    finally:
        await client.close()
        server.stop()
