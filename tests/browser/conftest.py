"""Browser tests: one ward (the four services and the console, as processes, on the real broker and
database) shared by the stories of a module, and Debian's Chromium driven by Playwright.

The stories share the ward as people share one: each makes its own conference, opinions and sessions.
The parts of `service_env` are module-scoped here (same names as in tests/conftest.py), so the ward
starts once, with the first story, and serves the others.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from deploy.localstack.processes import free_port
from shared.messaging.admin import RabbitAdmin
from tests.browser.stack import Ward, ward_with_console
from tests.conftest import AMQP_HOST, LocalSmtp

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "thu-nghiem-2026"  # the development accounts' (services/console/app.py)


@pytest.fixture(scope="module")
def instance_id() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def vhost(rabbit_admin: RabbitAdmin, instance_id: str) -> Iterator[str]:
    rabbit_admin.ensure_vhost(instance_id)
    yield instance_id
    rabbit_admin.delete_vhost(instance_id)


@pytest.fixture(scope="module")
def broker_url(vhost: str) -> str:
    return f"amqp://guest:guest@{AMQP_HOST}/{vhost}"


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSmtp]:
    server = LocalSmtp(tmp_path_factory.mktemp("mail"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def _running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Holds the module's ward once started; stops it after the module's last story."""
    with contextlib.ExitStack() as stack:
        yield {"stack": stack, "folder": tmp_path_factory.mktemp("ward")}


@pytest.fixture
def ward(service_env: dict[str, str], _running: dict[str, Any]) -> Ward:
    if "ward" not in _running:
        _running["ward"] = _running["stack"].enter_context(ward_with_console(service_env, _running["folder"]))
    return _running["ward"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class People:
    """Browser contexts (one person each: their own cookies), signed in or not."""

    def __init__(self, browser: Browser, ward: Ward) -> None:
        self.browser = browser
        self.ward = ward
        self.contexts: list[BrowserContext] = []

    def page(self, *, phone: bool = False) -> Page:
        context = self.browser.new_context(
            base_url=self.ward.url, viewport=PHONE if phone else DESKTOP, locale="vi-VN", accept_downloads=True
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def signed_in(self, username: str, *, start: str = "/lam-viec") -> Page:
        page = self.page()
        page.goto(f"/dang-nhap?tiep={start}")
        sign_in(page, username)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form[action='/dang-nhap'] button[type=submit]")


@pytest.fixture
def people(browser: Browser, ward: Ward) -> Iterator[People]:
    crowd = People(browser, ward)
    yield crowd
    crowd.close()


def screenshot(page: Page, name: str, *, phone_too: bool = False) -> None:
    """A full-page PNG for review, at 1280 wide (and at 390 for the citizens' pages)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or DESKTOP
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if phone_too:
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(size)
