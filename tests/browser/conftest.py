"""Browser fixtures: Debian's chromium driven by Playwright's Python API (no browser download).

The browser is launched once per session against the shared `app_server`; each test opens
fresh contexts (own storage, so own learner id). Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from app_server import AppServer
from chat_page import SHOTS, ChatPage, OpenChat

CHROMIUM = Path("/usr/bin/chromium")
# Headless, no background traffic to Google services, nothing downloaded.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (`make browser`, or apt-get install chromium chromium-driver)")
    shutil.rmtree(SHOTS, ignore_errors=True)  # this run's screenshots only
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def open_chat(browser: Browser, app_server: AppServer) -> Iterator[OpenChat]:
    """Open the app in a new browser context (a new 'browser profile'), e.g. `open_chat(locale="fi-FI")`."""
    contexts = []

    def open_page(locale: str = "en-US") -> ChatPage:
        context = browser.new_context(locale=locale, viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        chat = ChatPage(page, app_server.url)
        # The UI must work offline: anything the page asks beyond loopback is a bug (fonts, CDNs, trackers).
        page.on("request", lambda request: chat.external_requests.append(request.url)
                if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
        return chat.open()

    yield open_page
    for context in contexts:
        context.close()

