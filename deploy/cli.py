"""`doithoai`: the operator's command line, talking to the services' HTTP APIs.

    doithoai agencies list                       the directory of an instance
    doithoai agencies put <id> --name … --email … [--channel email --channel webhook …]
    doithoai agencies import agencies.yaml       create or update every agency of a YAML file
    doithoai agencies deactivate <id>
    doithoai notifications list --status failed  delivery status; `retry <id>` sends a failed one again

The notification service's URL and an API key come from --url/--key or DOITHOAI_NOTIFICATION_URL
and DOITHOAI_API_KEY.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

EXAMPLES = """\b
Ví dụ / examples:
  doithoai agencies list
  doithoai agencies put dia-chinh --name "Công chức Địa chính" --field land --email dc@ubnd.example.vn
  doithoai agencies import shared/config/agencies.yaml --instance phuong-bo-de
  doithoai notifications list --status failed
  doithoai notifications retry <id>
"""

app = typer.Typer(
    help="Công cụ vận hành doithoai (operator CLI) — talks to the services' HTTP APIs.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    rich_markup_mode=None,
)
agencies = typer.Typer(help="Danh bạ cơ quan (agency directory).", no_args_is_help=True)
notifications = typer.Typer(help="Tình trạng gửi thông báo (delivery status).", no_args_is_help=True)
app.add_typer(agencies, name="agencies")
app.add_typer(notifications, name="notifications")
console = Console()

Url = Annotated[str, typer.Option(envvar="DOITHOAI_NOTIFICATION_URL", help="Notification service URL.")]
Key = Annotated[str, typer.Option(envvar="DOITHOAI_API_KEY", help="API key (operator role to change things).")]
DEFAULT_URL = "http://127.0.0.1:8104"


def _call(method: str, url: str, key: str, path: str, **kw: Any) -> Any:
    try:
        response = httpx.request(method, f"{url.rstrip('/')}{path}", headers={"X-API-Key": key}, timeout=15, **kw)
    except httpx.HTTPError as exc:
        console.print(f"[red]Không kết nối được {url}: {exc}[/red]")
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
            console.print(f"[red]{response.status_code} {error['message_vi']}[/red] ({error['message_en']})")
            for detail in error.get("details", []):
                console.print(f"  [yellow]{detail['field']}[/yellow]: {detail['message_vi']} ({detail['message_en']})")
        except (ValueError, KeyError):
            console.print(f"[red]{response.status_code} {response.text}[/red]")
        raise typer.Exit(1)
    return response.json()


def _agency_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("id", "tên", "cấp", "lĩnh vực", "kênh", "liên hệ", "hoạt động")
    for a in rows:
        contacts = ", ".join(str(a[k]) for k in ("email", "phone", "webhook_url") if a.get(k))
        table.add_row(
            a["id"], a["name"], a["level"], ", ".join(a["fields"]) + (" (mặc định)" if a["default"] else ""),
            ", ".join(a["channels"]), contacts, "có" if a["active"] else "không",
        )  # fmt: skip
    return table


@agencies.command("list")
def list_agencies(url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Liệt kê danh bạ cơ quan."""
    console.print(_agency_table(_call("GET", url, key, "/api/v1/agencies")))


@agencies.command("put")
def put_agency(
    agency_id: str,
    name: Annotated[str, typer.Option(help="Tên cơ quan")],
    field: Annotated[list[str], typer.Option("--field", help="Lĩnh vực xử lý (lặp lại được)")] = [],  # noqa: B006
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    webhook_url: Annotated[str | None, typer.Option()] = None,
    webhook_secret: Annotated[str | None, typer.Option(envvar="DOITHOAI_WEBHOOK_SECRET")] = None,
    channel: Annotated[list[str], typer.Option("--channel", help="email, webhook, sms")] = ["email"],  # noqa: B006
    default: Annotated[bool, typer.Option(help="Nhận các lĩnh vực không ai nhận")] = False,
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Thêm hoặc sửa một cơ quan."""
    body = {
        "name": name, "fields": field, "email": email, "phone": phone, "webhook_url": webhook_url,
        "webhook_secret": webhook_secret, "channels": channel, "default": default,
    }  # fmt: skip
    stored = _call(
        "PUT", url, key, f"/api/v1/agencies/{agency_id}", json={k: v for k, v in body.items() if v is not None}
    )
    console.print(_agency_table([stored]))


@agencies.command("import")
def import_agencies(
    path: Path,
    instance: Annotated[str, typer.Option(help="Mã đơn vị thay cho {instance} trong tệp")] = "",
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Nạp (tạo hoặc cập nhật) mọi cơ quan trong một tệp YAML như shared/config/agencies.yaml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8").replace("{instance}", instance)) or {}
    rows = data.get("agencies") or []
    stored = []
    with console.status(f"Đang nạp {len(rows)} cơ quan…"):
        for row in rows:
            body = {k: v for k, v in row.items() if k != "id"}
            stored.append(_call("PUT", url, key, f"/api/v1/agencies/{row['id']}", json=body))
    console.print(_agency_table(stored))
    console.print(f"[green]Đã nạp {len(stored)} cơ quan.[/green]")


@agencies.command("deactivate")
def deactivate_agency(agency_id: str, url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Ngừng giao việc cho một cơ quan (giữ lại lịch sử)."""
    console.print(_agency_table([_call("DELETE", url, key, f"/api/v1/agencies/{agency_id}")]))


@notifications.command("list")
def list_notifications(
    status: Annotated[str | None, typer.Option(help="queued, sent, failed, acknowledged")] = None,
    tracking_code: Annotated[str | None, typer.Option()] = None,
    agency: Annotated[str | None, typer.Option()] = None,
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Tình trạng gửi thông báo."""
    params = {k: v for k, v in {"status": status, "tracking_code": tracking_code, "agency_id": agency}.items() if v}
    table = Table("id", "loại", "kênh", "người nhận", "mã ý kiến", "trạng thái", "lần gửi", "lỗi")
    for n in _call("GET", url, key, "/api/v1/notifications", params=params):
        table.add_row(
            n["id"][:12], n["type"], n["channel"], n["recipient_name"] or n["address"], n["tracking_code"] or "",
            n["status"], str(n["attempts"]), (n["last_error"] or "")[:60],
        )  # fmt: skip
    console.print(table)


@notifications.command("retry")
def retry_notification(notification_id: str, url: Url = DEFAULT_URL, key: Key = "") -> None:
    """Gửi lại một thông báo đã thất bại."""
    n = _call("POST", url, key, f"/api/v1/notifications/{notification_id}/retry")
    console.print(f"[green]{n['id']}: {n['status']}[/green]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
