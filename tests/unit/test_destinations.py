"""Where webhooks may go: internal addresses refused in every spelling, credentials refused, the allow-list."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.notification.app import NotificationSettings, check_seed_webhooks
from services.notification.channels.destinations import (
    AllowList,
    DestinationRefused,
    check_url,
    literal_address,
    resolve_public,
)
from shared.agencies import DEFAULT_SEED, load_seed

INTERNAL = [
    "http://127.0.0.1:15672/api/definitions",  # the broker's management API
    "http://localhost:27017/",  # the database
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://[::1]/",
    "http://2130706433/",  # decimal
    "http://127.1/",  # short
    "http://0x7f.1/",
    "http://0x7f000001/",  # hex
    "http://017700000001/",  # octal
    "http://127.000.000.001/",  # zero-padded octets
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",
    "http://[fe80::1%25eth0]/",  # link-local with a zone
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",  # shared address space (carrier-grade NAT)
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",  # multicast
    "http://255.255.255.255/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://[ff02::1]/",
    "http://[::]/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "https://LOCALHOST./hook",
    "https://api.localhost/hook",
    "https://printer.local/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://１２７.０.０.１/",  # full-width digits, which IDNA folds to 127.0.0.1
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_destinations_are_refused_in_every_spelling(url: str) -> None:
    refusal = check_url(url, AllowList())
    assert refusal is not None, url
    assert "mạng nội bộ" in refusal.message_vi and "DOITHOAI_WEBHOOK_ALLOWED_NETWORKS" in refusal.message_vi
    assert "internal network" in refusal.message_en and "DOITHOAI_WEBHOOK_ALLOWED_NETWORKS" in refusal.message_en


def test_the_refusal_says_which_address_a_spelling_stands_for() -> None:
    refusal = check_url("http://2130706433:15672/api", AllowList())
    assert refusal is not None and "(2130706433 = 127.0.0.1)" in refusal.message_en
    assert literal_address("0x7f.1") == ip_address("127.0.0.1")
    assert literal_address("[::ffff:127.0.0.1]") == ip_address("127.0.0.1")
    assert literal_address("hethong.example.vn") is None


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://user:pass@example.vn/hook", "user:pass@"),
        ("https://token@example.vn/hook", "user:pass@"),
        ("http://example.vn\\@127.0.0.1/", "user:pass@"),
        ("ftp://example.vn/hook", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.vn:70/", "gopher"),
        ("http://example.vn:99999/", "not valid"),
        ("http:///hook", "no host"),
    ],
)
def test_other_shapes_are_refused_with_a_reason(url: str, needle: str) -> None:
    refusal = check_url(url, AllowList())
    assert refusal is not None and needle in refusal.message_en, (url, refusal)
    assert refusal.message_vi


@pytest.mark.parametrize(
    "url",
    [
        "https://hethong.example.vn/doithoai/hook",
        "http://hethong.example.vn:8080/hook",
        "https://8.8.8.8/hook",
        "https://[2001:4860:4860::8888]/hook",
    ],
)
def test_public_destinations_pass(url: str) -> None:
    assert check_url(url, AllowList()) is None


def test_the_allow_list_admits_its_networks_and_names_only() -> None:
    allowed = AllowList.parse(["10.20.0.0/16", "127.0.0.1", "He-Thong.NoiBo.vn."])
    assert check_url("http://10.20.3.4/hook", allowed) is None
    assert check_url("http://[::ffff:10.20.3.4]/hook", allowed) is None
    assert check_url("http://2130706433/hook", allowed) is None  # 127.0.0.1 in another spelling
    assert check_url("https://he-thong.noibo.vn/hook", allowed) is None
    assert check_url("http://10.21.0.1/hook", allowed) is not None
    assert check_url("http://127.0.0.2/hook", allowed) is not None
    assert check_url("http://localhost/hook", allowed) is not None
    assert check_url("http://user:pass@he-thong.noibo.vn/hook", allowed) is not None  # credentials, still


@pytest.mark.parametrize("entry", ["127.1", "10.0.0.0/33", "not a host", "http://x.vn/"])
def test_a_mistyped_allow_list_entry_is_named(entry: str) -> None:
    with pytest.raises(ValueError, match="DOITHOAI_WEBHOOK_ALLOWED_NETWORKS"):
        AllowList.parse([entry])


def test_the_setting_is_checked_when_the_service_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOITHOAI_WEBHOOK_ALLOWED_NETWORKS", '["10.20.0.0/16", "127.1"]')
    with pytest.raises(ValidationError, match="'127.1' is neither a network"):
        NotificationSettings()
    monkeypatch.setenv("DOITHOAI_WEBHOOK_ALLOWED_NETWORKS", '["10.20.0.0/16", "he-thong.noibo.vn"]')
    allowed = NotificationSettings().webhook_allow_list()
    assert allowed.admits_host("he-thong.noibo.vn") and allowed.admits_address(ip_address("10.20.0.9"))
    monkeypatch.delenv("DOITHOAI_WEBHOOK_ALLOWED_NETWORKS")
    assert NotificationSettings().webhook_allow_list() == AllowList()


def test_the_seed_obeys_the_rules_of_the_api(tmp_path: Path) -> None:
    seed = tmp_path / "agencies.yaml"
    seed.write_text(
        "agencies:\n  - id: to-a\n    name: Tổ A\n    webhook_url: http://169.254.169.254/latest/meta-data/\n"
        "    webhook_secret: agency-webhook-secret-0123\n    channels: [webhook]\n",
        encoding="utf-8",
    )
    agencies = load_seed(seed, instance_id="t", level="ward")
    with pytest.raises(ValueError, match=r"agencies\.yaml: agency to-a: .*\(169\.254\.169\.254\)"):
        check_seed_webhooks(agencies, AllowList(), seed)
    check_seed_webhooks(agencies, AllowList.parse(["169.254.169.254/32"]), seed)
    check_seed_webhooks(load_seed(DEFAULT_SEED, instance_id="t", level="ward"), AllowList(), DEFAULT_SEED)


async def test_a_name_resolving_to_loopback_is_refused_at_send_time() -> None:
    with pytest.raises(DestinationRefused, match=r"localhost → (127\.0\.0\.1|::1)"):
        await resolve_public("localhost", 80, AllowList())


async def test_resolution_returns_the_checked_addresses() -> None:
    assert await resolve_public("8.8.8.8", 443, AllowList()) == [ip_address("8.8.8.8")]
    with pytest.raises(DestinationRefused):
        await resolve_public("2130706433", 80, AllowList())
    addresses = await resolve_public("localhost", 80, AllowList.parse(["127.0.0.0/8", "::1"]))
    assert ip_address("127.0.0.1") in addresses
    # An allowed name is admitted whatever it resolves to.
    assert ip_address("127.0.0.1") in await resolve_public("localhost", 80, AllowList.parse(["localhost"]))
