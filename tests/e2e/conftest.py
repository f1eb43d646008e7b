"""Browser tests: a real `nixflow serve` subprocess on a free port, driven by Chromium.

`server` runs embedded (a temp SQLite file, worker in the same process); `scaleout_server` runs on PostgreSQL
and Redis Streams with `nixflow serve --no-worker` and a separate `nixflow worker` process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

if os.environ.get("CI") != "true":  # under CI=true a missing Playwright fails the run instead of skipping the folder
    pytest.importorskip("playwright")
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    id: int
    email: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Server:
    """`nixflow serve` in a subprocess; `restart()` keeps the database and the port."""

    db_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Scale-out: PostgreSQL and Redis, the worker in a process of its own.
    database_url: str | None = None
    redis: dict[str, str] = field(default_factory=dict)
    worker: subprocess.Popen[bytes] | None = None
    extra: dict[str, str] = field(default_factory=dict)  # more NIXFLOW_* settings

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NIXFLOW_DATABASE_URL": self.database_url or f"sqlite+aiosqlite:///{self.db_path}",
            "NIXFLOW_SECRET_KEY": "browser-test-secret",
            "NIXFLOW_TICK_SECONDS": "0.2",
            "NIXFLOW_SWEEP_AFTER_SECONDS": "0.5",
            **self.redis,
            **self.extra,
        }

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "nixflow.cli", *args], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def start(self) -> None:
        self.log_path = self.db_path.with_suffix(".log")
        log = self.log_path.open("ab")
        serve = [sys.executable, "-m", "nixflow.cli", "serve", "--port", str(self.port)]
        if self.redis:
            serve.append("--no-worker")
            self.worker = subprocess.Popen(
                [sys.executable, "-m", "nixflow.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.process = subprocess.Popen(serve, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nixflow serve exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("nixflow serve did not become healthy")

    def stop(self) -> None:
        for process in (self.process, self.worker):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = self.worker = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def login(self, email: str) -> str:
        response = httpx.post(self.url + "/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    def account(self, admin: Account | None, role: str, name: str, **extra: Any) -> Account:
        email = f"{name.lower().replace(' ', '.')}@example.com"
        if admin is None:
            args = ("--email", email, "--name", name, "--role", role, "--password", PASSWORD)
            user_id = int(self.cli("users", "create", *args))
        else:
            body = {"email": email, "name": name, "role": role, "password": PASSWORD, **extra}
            response = httpx.post(self.url + "/api/users", json=body, headers=admin.headers)
            assert response.status_code == 201, response.text
            user_id = int(response.json()["id"])
        return Account(user_id, email, name, self.login(email))

    def call(self, method: str, path: str, who: Account, **kwargs: Any) -> Any:
        response = httpx.request(method, self.url + path, headers=who.headers, timeout=10, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


def mailing_to(srv: Server, smtp_url: str, **extra: str) -> None:
    """Have `srv` send its mail to the SMTP server at `smtp_url`, from help@example.com, with links to itself."""
    base = {
        "NIXFLOW_SMTP_URL": smtp_url,
        "NIXFLOW_MAIL_FROM": "NixFlow <help@example.com>",
        "NIXFLOW_BASE_URL": srv.url,
    }
    srv.extra = {**base, **extra}


@pytest.fixture
def server(tmp_path: Path, sqlite_template: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "nixflow.db")
    shutil.copyfile(sqlite_template, srv.db_path)  # the migrated template: what `nixflow db upgrade` would write
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def scaleout_server(tmp_path: Path, postgres_database: str, redis_prefix: str) -> Iterator[Server]:
    """One API process and one worker on a fresh PostgreSQL database and Redis (started by scripts/services.sh)."""
    redis_url = os.environ["NIXFLOW_TEST_REDIS_URL"]
    redis = {"NIXFLOW_REDIS_URL": redis_url, "NIXFLOW_REDIS_PREFIX": redis_prefix}
    srv = Server(tmp_path / "nixflow.db", database_url=postgres_database, redis=redis)
    srv.cli("db", "upgrade")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


async def signed_in(browser: Browser, server: Server, who: Account, path: str = "/", **options: Any) -> Page:
    """A new browser page signed in as `who` through the login form, then at `path` (`options`: the browser
    context's, e.g. `timezone_id`)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, **options)
    page = await context.new_page()
    await page.goto(server.url + "/login?next=" + path)
    await page.get_by_label("Email").fill(who.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_url(server.url + path)
    return page


async def shoot(page: Page, name: str) -> None:
    """Screenshots of the current page at desktop and phone sizes, into artifacts/screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}-{width}x{height}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})
