"""RabbitMQ management HTTP API: vhosts, users, permissions, queues and shovels."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class RabbitAdmin:
    def __init__(self, url: str = "http://127.0.0.1:15672", user: str = "guest", password: str = "guest") -> None:
        self._client = httpx.Client(base_url=url.rstrip("/") + "/api", auth=(user, password), timeout=10.0)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        response = self._client.request(method, path, **kw)
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise RuntimeError(f"RabbitMQ management {method} {path}: {response.status_code} {response.text}")
        return response

    def ensure_vhost(self, vhost: str, user: str = "guest") -> None:
        """Create the vhost if missing and give `user` full rights on it (both idempotent)."""
        self._call("PUT", f"/vhosts/{quote(vhost, safe='')}", json={"description": "doithoai instance"})
        self.set_permissions(vhost, user)

    def set_permissions(
        self, vhost: str, user: str, *, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        self._call(
            "PUT",
            f"/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
            json={"configure": configure, "write": write, "read": read},
        )

    def ensure_user(self, user: str, password: str) -> None:
        self._call("PUT", f"/users/{quote(user, safe='')}", json={"password": password, "tags": ""})

    def delete_user(self, user: str) -> None:
        self._call("DELETE", f"/users/{quote(user, safe='')}")

    def exists(self, vhost: str, kind: str, name: str) -> bool:
        """Does queue or exchange `name` exist in `vhost` (kind: queues or exchanges)?"""
        response = self._client.get(f"/{kind}/{quote(vhost, safe='')}/{quote(name, safe='')}")
        return response.status_code == 200

    def put_shovel(self, vhost: str, name: str, value: dict[str, Any]) -> None:
        self._call("PUT", f"/parameters/shovel/{quote(vhost, safe='')}/{quote(name, safe='')}", json={"value": value})

    def delete_shovel(self, vhost: str, name: str) -> None:
        self._call("DELETE", f"/parameters/shovel/{quote(vhost, safe='')}/{quote(name, safe='')}")

    def shovel_names(self, vhost: str) -> list[str]:
        return [p["name"] for p in self._call("GET", f"/parameters/shovel/{quote(vhost, safe='')}").json()]

    def shovel_state(self, vhost: str, name: str) -> str:
        """running, starting, terminated… or `absent` (defined but not running, or not defined)."""
        shovels = self._call("GET", f"/shovels/{quote(vhost, safe='')}").json()
        return next((s.get("state", "unknown") for s in shovels if s["name"] == name), "absent")

    def delete_vhost(self, vhost: str) -> None:
        self._call("DELETE", f"/vhosts/{quote(vhost, safe='')}")

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/queues/{quote(vhost, safe='')}").json()

    def queue_names(self, vhost: str) -> set[str]:
        response = self._call("GET", f"/queues/{quote(vhost, safe='')}", params={"columns": "name"})
        return {q["name"] for q in response.json()}

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        return self._call("GET", f"/queues/{quote(vhost, safe='')}/{quote(name, safe='')}").json()
