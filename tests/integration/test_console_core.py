"""People's accounts and sessions in the console, and the services trusting a person only through the
console's short-lived signed token: on the real database and broker (browser stories: tests/browser)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from services.assignment.app import create_app as assignment_app
from services.console.accounts import MAX_FAILURES, Account
from services.console.app import ConsoleSettings
from services.console.app import create_app as console_app
from services.intake.app import create_app as intake_app
from shared.clock import ManualClock
from shared.http import tokens
from tests.integration.harness import eventually, running
from tests.integration.oidc_issuer import Issuer, running_issuer

PASSWORD = "mot-cau-dai-de-nho"


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    private, public = tokens.new_key_pair()
    (tmp_path / "console.pem").write_text(private)
    (tmp_path / "console.pub").write_text(public)
    return {"private": tmp_path / "console.pem", "public": tmp_path / "console.pub"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def console(env, keys, clock, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_SIGNING_KEY_FILE", str(keys["private"]))
    app = console_app(ConsoleSettings(), clock=clock)
    async with running(app) as (client,):
        await app.state.accounts.add(
            Account("thu-ky", "Nguyễn Thị Thư", "Thư ký hội nghị", ["secretary"]), PASSWORD, clock.now()
        )
        client.app = app  # type: ignore[attr-defined]
        yield client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = csrf((await client.get("/dang-nhap")).text)
    return await client.post("/dang-nhap", data={"csrf_token": token, "username": username, "password": password})


async def test_a_session_is_an_httponly_cookie_revoked_on_sign_out(console) -> None:  # type: ignore[no-untyped-def]
    assert (await console.get("/lam-viec")).headers["location"] == "/dang-nhap?tiep=/lam-viec"
    r = await sign_in(console, "thu-ky", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/lam-viec"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    assert "Nguyễn Thị Thư" in (await console.get("/lam-viec")).text
    stolen = console.cookies.get("doithoai_phien")
    page = (await console.get("/lam-viec")).text
    # A sign-out without the session's CSRF token is refused; with it, the session is gone server-side.
    assert (await console.post("/dang-xuat", data={"csrf_token": "khac"})).status_code == 403
    assert (await console.post("/dang-xuat", data={"csrf_token": csrf(page)})).status_code == 303
    transport = httpx.ASGITransport(app=console.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as replay:
        replay.cookies.set("doithoai_phien", stolen)
        assert (await replay.get("/lam-viec")).status_code == 303  # the old cookie opens nothing


async def test_five_wrong_passwords_lock_the_account_for_a_while(console, clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(MAX_FAILURES - 1):
        assert (await sign_in(console, "thu-ky", "sai-mat-khau-roi")).status_code == 401
    r = await sign_in(console, "thu-ky", "sai-mat-khau-roi")
    assert r.status_code == 401 and "tạm khóa" in r.text
    r = await sign_in(console, "thu-ky", PASSWORD)  # even the right password, while locked
    assert r.status_code == 401 and "tạm khóa" in r.text
    clock.advance(timedelta(minutes=16))
    assert (await sign_in(console, "thu-ky", PASSWORD)).status_code == 303
    # Unknown names answer like wrong passwords (no telling which accounts exist).
    console.cookies.clear()
    r = await sign_in(console, "khong-co-ai", PASSWORD)
    assert r.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng" in r.text


async def test_a_temporary_password_must_be_changed_and_the_policy_holds(console) -> None:  # type: ignore[no-untyped-def]
    await console.app.state.accounts.set_password("thu-ky", "tam-thoi-12345", must_change=True)
    r = await sign_in(console, "thu-ky", "tam-thoi-12345")
    assert r.headers["location"] == "/tai-khoan/doi-mat-khau"
    assert (await console.get("/lam-viec")).headers["location"] == "/tai-khoan/doi-mat-khau"
    form = (await console.get("/tai-khoan/doi-mat-khau")).text
    r = await console.post(
        "/tai-khoan/doi-mat-khau",
        data={"csrf_token": csrf(form), "current": "tam-thoi-12345", "new": "1234567890", "again": "1234567890"},
    )
    assert r.status_code == 422 and "dễ đoán" in r.text
    r = await console.post(
        "/tai-khoan/doi-mat-khau",
        data={"csrf_token": csrf(form), "current": "tam-thoi-12345", "new": PASSWORD, "again": PASSWORD},
    )
    assert r.status_code == 303
    assert (await console.get("/lam-viec")).status_code == 200


async def test_the_citizens_forms_need_their_own_cookie_token(console) -> None:  # type: ignore[no-untyped-def]
    page = await console.get("/gui-y-kien")
    token = csrf(page.text)
    assert "doithoai_bieu_mau" in page.headers["set-cookie"]
    r = await console.post("/gui-y-kien", data={"csrf_token": "gia-mao", "text": "Rác ở chợ"})
    assert r.status_code == 403 and "Biểu mẫu đã hết hạn" in r.text
    r = await console.post("/gui-y-kien", data={"csrf_token": token, "text": " "})
    assert r.status_code == 422 and "Hãy viết nội dung" in r.text


def person_headers(keys: dict[str, Path], instance: str, **person: object) -> dict[str, str]:
    who = tokens.Person(**{"username": "le-van-a", "name": "Lê Văn A", "roles": ("front",), **person})  # type: ignore[arg-type]
    token = tokens.sign(who, private_key=keys["private"].read_text(), instance=instance, now=ManualClock().now())
    return {"Authorization": f"Bearer {token}"}


async def test_services_trust_a_person_only_through_the_consoles_token(env, keys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOITHOAI_CONSOLE_PUBLIC_KEY_FILE", str(keys["public"]))
    instance = env["DOITHOAI_INSTANCE_ID"]
    async with running(intake_app(), assignment_app()) as (intake, assignment):
        front = person_headers(keys, instance, position="Phó Chủ tịch Ủy ban MTTQ", address="203.0.113.9")
        body = {"text": "Xin cấp sổ đỏ thửa 12", "channel": "direct"}
        r = await intake.post("/api/v1/opinions", json=body, headers=front)
        assert r.status_code == 201, r.text
        code = r.json()["tracking_code"]
        # Forged (another key), for another instance, expired, or with a role it may not hold: 401.
        other_private, _ = tokens.new_key_pair()
        stranger = tokens.Person(username="x", name="X", roles=("operator",))
        now = ManualClock().now()
        bad = {
            "another key": tokens.sign(stranger, private_key=other_private, instance=instance, now=now),
            "another instance": tokens.sign(
                stranger, private_key=keys["private"].read_text(), instance="khac", now=now
            ),
            "expired": tokens.sign(
                stranger, private_key=keys["private"].read_text(), instance=instance, now=now - timedelta(minutes=10)
            ),  # fmt: skip
            "unknown role": tokens.sign(
                tokens.Person(username="x", name="X", roles=("god",)),
                private_key=keys["private"].read_text(),
                instance=instance,
                now=now,
            ),  # fmt: skip
        }
        for why, token in bad.items():
            r = await assignment.get("/api/v1/opinions", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token", why

        async def assigned() -> dict | None:  # type: ignore[type-arg]
            r = await assignment.get(f"/api/v1/opinions/{code}", headers=front)
            return r.json() if r.status_code == 200 else None

        view = await eventually(assigned, what="the opinion assigned")
        # A person of an agency reaches only what is addressed to that agency.
        own = person_headers(keys, instance, username="dc", name="Cán bộ Địa chính", roles=("agency",),
                             agency_id=view["agency_id"])  # fmt: skip
        other = person_headers(keys, instance, username="vp", name="Cán bộ Văn phòng", roles=("agency",),
                               agency_id="van-phong-ubnd")  # fmt: skip
        assert (await assignment.get(f"/api/v1/opinions/{code}", headers=other)).status_code == 403
        inbox = (await assignment.get("/api/v1/opinions", headers=other)).json()
        assert code not in {i["tracking_code"] for i in inbox["items"]}
        answer = {"kind": "written", "text": "Đã tiếp nhận hồ sơ, hẹn trả kết quả.", "document_number": "12/ĐC"}
        assert (await assignment.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=other)).status_code == 403
        assert (await assignment.post(f"/api/v1/opinions/{code}/answer", json=answer, headers=own)).status_code == 200
        # The audit trail names the person (and the address the console saw), not a key.
        operator = person_headers(keys, instance, username="vh", name="Vũ Minh Vận", roles=("operator",))
        [entry] = (await assignment.get("/api/v1/audit", params={"target": code}, headers=operator)).json()
        assert entry["actor"] == "Cán bộ Địa chính" and entry["actor_id"] == "person:dc"
        assert entry["roles"] == ["agency"] and entry["agency_id"] == view["agency_id"]
        entered = (await intake.get("/api/v1/opinions", params={"q": code}, headers=operator)).json()
        assert entered["total"] == 1


async def test_many_failures_from_one_address_slow_it_down_whatever_the_names(console) -> None:  # type: ignore[no-untyped-def]
    # 20 failures a minute from one address, one more every 3 s: on a slow machine the 20 tries themselves
    # take long enough to earn one or two more before the wait begins.
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 30:
        statuses.append((await sign_in(console, f"nguoi-{len(statuses)}", "sai-mat-khau-roi")).status_code)
    assert statuses[:20] == [401] * 20 and statuses[-1] == 429 and set(statuses) == {401, 429}
    r = await sign_in(console, "thu-ky", PASSWORD)  # the right password waits too, from this address
    assert r.status_code == 429 and "thử lại sau" in r.text


async def test_single_sign_on_through_an_openid_connect_issuer(env, keys, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    person = {"sub": "hn-000123", "email": "thu.nguyen@hanoi.gov.vn", "name": "Nguyễn Thị Thư"}
    with running_issuer(Issuer("console-bo-de", "bi-mat-cua-client", person)) as issuer:
        for name, value in {
            "DOITHOAI_SIGNING_KEY_FILE": str(keys["private"]),
            "DOITHOAI_OIDC_ISSUER": issuer.url,
            "DOITHOAI_OIDC_CLIENT_ID": issuer.client_id,
            "DOITHOAI_OIDC_CLIENT_SECRET": issuer.client_secret,
            "DOITHOAI_PUBLIC_URL": "http://testserver",
        }.items():
            monkeypatch.setenv(name, value)
        app = console_app(ConsoleSettings(), clock=clock)
        async with running(app) as (client,):
            # The instance decides who may do what: the person has an account here (no password).
            await app.state.accounts.add(
                Account("thu-ky", "Nguyễn Thị Thư", "Thư ký", ["secretary"], email="thu.nguyen@hanoi.gov.vn"),
                None,
                clock.now(),
            )

            async def through_issuer() -> httpx.Response:
                start = await client.get("/dang-nhap/sso?tiep=/lam-viec")
                assert start.status_code == 303 and start.headers["location"].startswith(f"{issuer.url}/authorize?")
                back = httpx.get(start.headers["location"])  # the browser at the issuer, a real HTTP server
                assert back.status_code == 302
                return await client.get(back.headers["location"].removeprefix("http://testserver"))

            done = await through_issuer()
            assert done.status_code == 303 and done.headers["location"] == "/lam-viec"
            assert "Nguyễn Thị Thư" in (await client.get("/lam-viec")).text
            assert (await app.state.accounts.get("thu-ky")).oidc_subject == "hn-000123"  # type: ignore[union-attr]
            # A token whose nonce is not the one sent, and a person without an account here: refused.
            client.cookies.clear()
            issuer.wrong_nonce = True
            r = await through_issuer()
            assert r.status_code == 403 and "không hợp lệ" in r.text
            issuer.wrong_nonce = False
            issuer.person = {"sub": "hn-999", "email": "la@hanoi.gov.vn", "name": "Người Lạ"}
            r = await through_issuer()
            assert r.status_code == 403 and "chưa được cấp quyền" in r.text and "la@hanoi.gov.vn" in r.text
            assert (await client.get("/lam-viec")).status_code == 303  # not signed in
