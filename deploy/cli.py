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
from rich.console import Console
from rich.table import Table

from shared.agencies import load_seed

EXAMPLES = """\b
Ví dụ / examples:
  doithoai status
  doithoai dead-letters list --vhost phuong-bo-de
  doithoai dead-letters replay assignment.events.dead --amqp amqp://…/phuong-bo-de
  doithoai links --hierarchy deploy/hierarchy.local.yaml --credentials creds.json
  doithoai demo load --count 200
  doithoai report --period 2026-Q4 [--format csv|xlsx|pdf --output file]
  doithoai agencies list
  doithoai agencies put dia-chinh --name "Công chức Địa chính" --field land --email dc@ubnd.example.vn
  doithoai agencies import shared/config/agencies/ward.yaml --instance phuong-bo-de --level ward
  doithoai notifications list --status failed
  doithoai notifications retry <id>
  doithoai documents list <conference>        số, trạng thái và lý do văn bản chưa lập được
  doithoai documents retry <conference>       lập lại sau khi đã khắc phục nguyên nhân
  doithoai users add thu-ky --name "Nguyễn Thị Thư" --position "Công chức Văn phòng" --role secretary
  doithoai users add dia-chinh --name "Lê Văn Địa" --role agency --agency dia-chinh-xay-dung
  doithoai users list | disable <username> | reset-password <username>
"""

app = typer.Typer(
    help="Công cụ vận hành doithoai (operator CLI) — talks to the services' HTTP APIs.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    rich_markup_mode=None,
)
agencies = typer.Typer(help="Danh bạ cơ quan (agency directory).", no_args_is_help=True)
notifications = typer.Typer(help="Tình trạng gửi thông báo (delivery status).", no_args_is_help=True)
dead_letters = typer.Typer(help="Thư chết: xem và gửi lại (dead-letter queues).", no_args_is_help=True)
demo = typer.Typer(help="Dữ liệu mẫu (demo and bulk data).", no_args_is_help=True)
documents = typer.Typer(
    help="Văn bản hội nghị: xem và lập lại văn bản chưa lập được (documents).", no_args_is_help=True
)
users = typer.Typer(
    help="Tài khoản người dùng của bảng điều khiển (the console's accounts; reads DOITHOAI_INSTANCE_ID, "
    "DOITHOAI_MONGO_URL like the console).",
    no_args_is_help=True,
)
app.add_typer(agencies, name="agencies")
app.add_typer(notifications, name="notifications")
app.add_typer(dead_letters, name="dead-letters")
app.add_typer(demo, name="demo")
app.add_typer(users, name="users")
app.add_typer(documents, name="documents")
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
    level: Annotated[str, typer.Option(help="Cấp của đơn vị (commune, ward, province…), cho {kind}, {party}")] = "ward",
    url: Url = DEFAULT_URL,
    key: Key = "",
) -> None:
    """Nạp (tạo hoặc cập nhật) mọi cơ quan trong một tệp YAML như shared/config/agencies/ward.yaml."""
    try:
        records = load_seed(path, instance_id=instance, level=level)
    except ValueError as exc:
        console.print(f"[red]Tệp danh bạ không hợp lệ:[/red] {exc}")
        raise typer.Exit(2) from exc
    stored = []
    with console.status(f"Đang nạp {len(records)} cơ quan…"):
        for record in records:
            body = record.model_dump(mode="json", exclude={"id"}, exclude_none=True)
            stored.append(_call("PUT", url, key, f"/api/v1/agencies/{record.id}", json=body))
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


# ---- a conference's documents ----------------------------------------------------------------------

AssignmentUrl = Annotated[str, typer.Option(envvar="DOITHOAI_ASSIGNMENT_URL", help="Assignment service URL.")]
ASSIGNMENT_URL = "http://127.0.0.1:8103"


def _documents_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("văn bản", "số", "cơ quan", "trạng thái", "lý do")
    for d in rows:
        state = "đã lập" if d["status"] == "issued" else f"[red]{d['status']}[/red]"
        table.add_row(d["title"], d["number"] or "", d["agency"] or "", state, d["problem"] or "")
    return table


@documents.command("list")
def list_documents(conference_id: str, url: AssignmentUrl = ASSIGNMENT_URL, key: Key = "") -> None:
    """Văn bản của một hội nghị, kể cả văn bản chưa lập được và lý do."""
    console.print(_documents_table(_call("GET", url, key, f"/api/v1/conferences/{conference_id}/documents")))


@documents.command("retry")
def retry_documents(conference_id: str, url: AssignmentUrl = ASSIGNMENT_URL, key: Key = "") -> None:
    """Lập lại các văn bản chưa lập được của một hội nghị đã kết thúc."""
    rows = _call("POST", url, key, f"/api/v1/conferences/{conference_id}/documents/retry")
    console.print(_documents_table(rows))
    if any(d["status"] != "issued" for d in rows):
        raise typer.Exit(1)


# ---- instance status, dead letters, links ----------------------------------------------------------

Management = Annotated[str, typer.Option(envvar="DOITHOAI_MANAGEMENT_URL", help="RabbitMQ management URL.")]
MgmtUser = Annotated[str, typer.Option(envvar="DOITHOAI_MANAGEMENT_USER")]
MgmtPassword = Annotated[str, typer.Option(envvar="DOITHOAI_MANAGEMENT_PASSWORD")]
Vhost = Annotated[str, typer.Option(envvar="DOITHOAI_INSTANCE_ID", help="The instance's vhost (its id).")]


def _admin(management: str, user: str, password: str) -> Any:
    from shared.messaging.admin import RabbitAdmin

    return RabbitAdmin(management, user, password)


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@app.command("status")
def status(
    service: Annotated[
        list[str], typer.Option("--service", help="name=URL, repeatable; default: the first local instance")
    ] = [],  # noqa: B006
    vhost: Vhost = "phuong-bo-de",
    management: Management = "http://127.0.0.1:15672",
    user: MgmtUser = "guest",
    password: MgmtPassword = "guest",
) -> None:
    """Tình trạng một đơn vị: dịch vụ, hàng đợi, thư chết, ý kiến quá hạn."""
    urls = dict(s.split("=", 1) for s in service) or {
        name: f"http://127.0.0.1:{8100 + n}"
        for n, name in enumerate(("intake", "scheduling", "assignment", "notification"), 1)
    }
    table = Table("dịch vụ", "địa chỉ", "sẵn sàng", "broker", "cơ sở dữ liệu", "outbox chờ")
    overdue = None
    for name, url in urls.items():
        try:
            ready = httpx.get(f"{url}/health/ready", timeout=3)
            checks = ready.json().get("checks", {})
            text = httpx.get(f"{url}/metrics", timeout=3).text
            backlog = _metric(text, "doithoai_outbox_backlog")
            if name == "intake":
                overdue = _metric(text, "doithoai_overdue_opinions")
            table.add_row(name, url, "có" if ready.status_code == 200 else "[red]không[/red]",
                          str(checks.get("broker")), str(checks.get("database")), str(int(backlog or 0)))  # fmt: skip
        except httpx.HTTPError as exc:
            table.add_row(name, url, f"[red]không liên lạc được ({type(exc).__name__})[/red]", "", "", "")
    console.print(table)
    queues = Table("hàng đợi", "chờ xử lý", "đang xử lý", "người nhận")
    dead = Table("thư chết (dead letters)", "số thư")
    admin = _admin(management, user, password)
    try:
        for q in sorted(admin.queues(vhost), key=lambda q: q["name"]):
            if q["name"].endswith(".dead"):
                if q.get("messages", 0):
                    dead.add_row(q["name"], f"[red]{q['messages']}[/red]")
            else:
                queues.add_row(q["name"], str(q.get("messages_ready", 0)), str(q.get("messages_unacknowledged", 0)),
                               str(q.get("consumers", 0)))  # fmt: skip
    finally:
        admin.close()
    console.print(queues)
    console.print(dead if dead.row_count else "[green]Không có thư chết.[/green]")
    if overdue is not None:
        console.print(f"Ý kiến quá hạn trả lời: [{'red' if overdue else 'green'}]{int(overdue)}[/]")


@dead_letters.command("list")
def list_dead_letters(
    vhost: Vhost = "phuong-bo-de",
    management: Management = "http://127.0.0.1:15672",
    user: MgmtUser = "guest",
    password: MgmtPassword = "guest",
) -> None:
    """Các hàng thư chết có thư."""
    admin = _admin(management, user, password)
    try:
        table = Table("hàng thư chết", "số thư")
        for q in admin.queues(vhost):
            if q["name"].endswith(".dead") and q.get("messages", 0):
                table.add_row(q["name"], str(q["messages"]))
        console.print(table if table.row_count else "[green]Không có thư chết.[/green]")
    finally:
        admin.close()


def _amqp(amqp: str | None, vhost: str) -> str:
    return amqp or f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


@dead_letters.command("show")
def show_dead_letters(
    queue: str,
    vhost: Vhost = "phuong-bo-de",
    amqp: Annotated[str | None, typer.Option(envvar="DOITHOAI_BROKER_URL", help="AMQP URL of the vhost")] = None,
    limit: int = 20,
) -> None:
    """Xem thư trong một hàng thư chết (không lấy ra)."""
    import asyncio

    from deploy.dead_letters import peek

    for m in asyncio.run(peek(_amqp(amqp, vhost), queue, limit)):
        death = (m["death"] or [{}])[0]
        console.print(
            f"[bold]{m['message_id']}[/bold] {m['routing_key']} — lý do: {death.get('reason')}, "
            f"từ {death.get('queue')}, {death.get('count')} lần"
        )
        console.print(f"  {m['body'][:300]}")


@dead_letters.command("replay")
def replay_dead_letters(
    queue: str,
    vhost: Vhost = "phuong-bo-de",
    amqp: Annotated[str | None, typer.Option(envvar="DOITHOAI_BROKER_URL", help="AMQP URL of the vhost")] = None,
) -> None:
    """Gửi lại mọi thư của một hàng thư chết về hàng đợi gốc (sau khi đã sửa nguyên nhân)."""
    import asyncio

    from deploy.dead_letters import replay

    with console.status(f"Đang gửi lại thư của {queue}…"):
        moved = asyncio.run(replay(_amqp(amqp, vhost), queue))
    console.print(f"[green]Đã gửi lại {moved} thư về hàng đợi gốc.[/green]")


@app.command("links")
def links(
    hierarchy: Annotated[Path, typer.Option(help="YAML of the instances")] = Path("deploy/hierarchy.local.yaml"),
    credentials: Annotated[Path | None, typer.Option(help="JSON credentials; default: the local stack's")] = None,
) -> None:
    """Trạng thái các liên kết (shovel) giữa các cấp."""
    import json

    from deploy.links import Credentials, Hierarchy, link_states

    h = Hierarchy.from_yaml(hierarchy)
    creds = (
        Credentials(**json.loads(credentials.read_text(encoding="utf-8")))
        if credentials
        else Credentials(shovel="dev-link", instances={i.id: f"dev-{i.id}" for i in h.instances})
    )
    table = Table("liên kết (shovel)", "trạng thái")
    for name, state in link_states(h, creds).items():
        table.add_row(name, state if state == "running" else f"[red]{state}[/red]")
    console.print(table)


@app.command("report")
def report(
    period: Annotated[
        str | None,
        typer.Option(help="YYYY, YYYY-MM, YYYY-Qn, YYYY-6M, YYYY-9M, or days YYYY-MM-DD..YYYY-MM-DD (own figures)"),
    ] = None,
    conference: Annotated[str | None, typer.Option(help="A conference's report instead of a period's")] = None,
    format: Annotated[str, typer.Option(help="table, json, csv, xlsx, html or pdf")] = "table",
    output: Annotated[Path | None, typer.Option(help="File to write (csv, xlsx, html, pdf)")] = None,
    url: Annotated[
        str, typer.Option(envvar="DOITHOAI_ASSIGNMENT_URL", help="Assignment service URL")
    ] = "http://127.0.0.1:8103",
    key: Key = "dev-operator-phuong-bo-de",
) -> None:
    """Báo cáo kết quả đối thoại theo kỳ (gồm cấp dưới) hoặc của một hội nghị."""
    if (period is None) == (conference is None):
        console.print("[red]Cần đúng một trong --period hoặc --conference.[/red]")
        raise typer.Exit(2)
    path = f"/api/v1/conferences/{conference}/report" if conference else "/api/v1/reports"
    params = {"format": "json" if format == "table" else format, **({"period": period} if period else {})}
    try:
        response = httpx.get(f"{url.rstrip('/')}{path}", params=params, headers={"X-API-Key": key}, timeout=120)
    except httpx.HTTPError as exc:
        console.print(f"[red]Không kết nối được {url}: {exc}[/red]")
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        error = response.json().get("error", {})
        console.print(f"[red]{response.status_code} {error.get('message_vi')}[/red] ({error.get('message_en')})")
        raise typer.Exit(1)
    if format not in ("table", "json"):
        target = output or Path(response.headers["content-disposition"].split("filename=")[1].strip('"'))
        target.write_bytes(response.content)
        console.print(f"[green]Đã ghi {target}[/green]")
        return
    body = response.json()
    if format == "json":
        console.print_json(data=body)
        return
    columns = {
        "name": "đơn vị",
        "conferences": "hội nghị",
        "received": "ý kiến",
        "outcome_answered_on_the_spot": "tại hội nghị",
        "outcome_answered_in_writing": "bằng văn bản",
        "outcome_escalated_to_district": "chuyển huyện",
        "outcome_escalated_to_city": "chuyển tỉnh",
        "on_time_rate": "đúng hạn %",
        "median_days": "trung vị (ngày)",
    }
    table = Table(*columns.values(), title=body["title"])
    for r in body["rows"]:
        table.add_row(*("—" if r[c] is None else str(r[c]) for c in columns))
    console.print(table)


# ---- demo data ----------------------------------------------------------------------------------------

SAMPLES = [
    ("Đề nghị sửa đường nội đồng thôn Đông, mùa mưa lầy lội", "traffic"),
    ("Rác thải tồn đọng ở chợ tạm, bốc mùi", "environment"),
    ("Đề nghị cấp giấy chứng nhận quyền sử dụng đất cho các hộ tái định cư", "land"),
    ("Kênh mương nội đồng bị bồi lấp, không tưới tiêu được", "agriculture"),
    ("Gia đình người có công chưa được hưởng trợ cấp", "social_policy"),
    ("Đèn chiếu sáng ngõ 12 hỏng đã lâu", "traffic"),
    ("Thủ tục xác nhận cư trú còn chậm", "administration"),
    ("Một số đảng viên chưa gương mẫu trong sinh hoạt chi bộ", "party_building"),
    ("Tình trạng trộm cắp vặt ở khu tập thể", "security_order"),
    ("Đề nghị sửa chữa nhà văn hóa tổ dân phố", "culture"),
]


@demo.command("load")
def load_demo(
    count: Annotated[int, typer.Option(min=1, help="How many opinions")] = 100,
    intake: Annotated[str, typer.Option(envvar="DOITHOAI_INTAKE_URL")] = "http://127.0.0.1:8101",
    key: Key = "dev-front-phuong-bo-de",
    conference: Annotated[str | None, typer.Option(help="Attach them to this conference")] = None,
) -> None:
    """Nạp ý kiến mẫu qua API tiếp nhận, có thanh tiến trình."""
    import itertools

    from rich.progress import Progress

    channels = itertools.cycle(
        ["front_collected", "online", "written", "direct"] if not conference else ["front_collected"]
    )
    codes = []
    with Progress(console=console) as progress, httpx.Client(timeout=15) as client:
        task = progress.add_task("Đang nạp ý kiến…", total=count)
        for i, (text, _) in zip(range(count), itertools.cycle(SAMPLES), strict=False):
            body: dict[str, Any] = {"text": f"{text} (mẫu {i + 1})", "channel": next(channels)}
            if conference:
                body["conference_id"] = conference
            r = client.post(f"{intake}/api/v1/opinions", json=body, headers={"X-API-Key": key})
            if r.status_code != 201:
                console.print(f"[red]{r.status_code} {r.text}[/red]")
                raise typer.Exit(1)
            codes.append(r.json()["tracking_code"])
            progress.advance(task)
    console.print(f"[green]Đã nạp {len(codes)} ý kiến[/green] (ví dụ: {', '.join(codes[:3])})")


# ---- people's accounts (the console's database) ---------------------------------------------------


def _accounts(action: Any) -> Any:
    """Run `action(accounts, now)` against the console's accounts of the configured instance."""
    import asyncio
    from datetime import UTC, datetime

    from services.console.accounts import Accounts
    from shared.settings import ServiceSettings
    from shared.storage.mongo import connect

    settings = ServiceSettings()

    async def go() -> Any:
        mongo = connect(settings.mongo_url)
        try:
            store = Accounts(mongo[settings.database_name("console")])
            await store.create_indexes()
            return await action(store, datetime.now(UTC), mongo[settings.database_name("console")])
        finally:
            await mongo.close()

    return asyncio.run(go())


def _temporary_password() -> str:
    import secrets

    words = ["song", "hong", "lua", "tre", "sen", "dao", "mai", "lang", "que", "doi", "bien", "nui"]
    return "-".join(secrets.choice(words) for _ in range(3)) + f"-{secrets.randbelow(9000) + 1000}"


@users.command("add")
def add_user(
    username: str,
    name: Annotated[str, typer.Option(help="Họ và tên")],
    role: Annotated[list[str], typer.Option(help="front, secretary, head, agency, operator (repeat for several)")],
    position: Annotated[str | None, typer.Option(help="Chức vụ")] = None,
    agency: Annotated[str | None, typer.Option(help="Mã cơ quan (vai trò agency)")] = None,
    head: Annotated[str | None, typer.Option(help="party_secretary, council_chair or committee_chair")] = None,
    email: Annotated[str | None, typer.Option(help="Email (đăng nhập một lần SSO khớp theo email)")] = None,
) -> None:
    """Thêm một người; in ra mật khẩu tạm, phải đổi khi đăng nhập lần đầu."""
    from services.console.accounts import Account, AccountError

    password = _temporary_password()
    account = Account(
        username, name, position, list(role), agency_id=agency, head=head, email=email.casefold() if email else None,
        must_change_password=True,
    )  # fmt: skip

    async def add(store: Any, now: Any, _: Any) -> None:
        await store.add(account, password, now)

    try:
        _accounts(add)
    except AccountError as exc:
        console.print(f"[red]{exc.field}: {exc.message_vi}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"[green]Đã thêm {username}[/green]. Mật khẩu tạm (đổi khi đăng nhập lần đầu): {password}")


@users.command("list")
def list_users() -> None:
    """Danh sách người dùng, vai trò, phạm vi, trạng thái."""

    async def all_(store: Any, now: Any, _: Any) -> Any:
        return await store.all()

    table = Table("tên đăng nhập", "họ tên", "chức vụ", "vai trò", "phạm vi", "trạng thái")
    for a in _accounts(all_):
        scope = a.agency_id or a.head or "toàn đơn vị"
        state = "ngừng" if not a.active else ("phải đổi mật khẩu" if a.must_change_password else "hoạt động")
        table.add_row(a.username, a.full_name, a.position or "", ", ".join(a.roles), scope, state)
    console.print(table)


def _change(username: str, changes: dict[str, Any], *, password: str | None = None) -> None:
    async def change(store: Any, now: Any, db: Any) -> bool:
        if await store.get(username) is None:
            return False
        if password is not None:
            await store.set_password(username, password, must_change=True)
        await store.update(username, changes)
        await db["sessions"].delete_many({"username": username})  # every session of the account ends
        return True

    if not _accounts(change):
        console.print(f"[red]Không có người dùng {username}.[/red]")
        raise typer.Exit(1)


@users.command("disable")
def disable_user(username: str) -> None:
    """Ngừng một tài khoản; mọi phiên đăng nhập của người đó kết thúc ngay."""
    _change(username, {"active": False})
    console.print(f"[green]Đã ngừng tài khoản {username}.[/green]")


@users.command("reset-password")
def reset_password(username: str) -> None:
    """Đặt mật khẩu tạm mới (phải đổi khi đăng nhập); mọi phiên của người đó kết thúc."""
    password = _temporary_password()
    _change(username, {"active": True}, password=password)
    console.print(f"[green]Mật khẩu tạm của {username}:[/green] {password}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
