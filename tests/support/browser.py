"""Debian's headless Chromium, driven by Playwright, sized like a clinic's low-end Android phone.

Never ``playwright install``: the browser is /usr/bin/chromium. The flags
keep Chromium from calling home (this network is closed) and from needing a
sandbox or GPU; Playwright gives every browser launch a fresh profile.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class PhonePage:
    """One phone: a fresh browser context at 360 px, with numbered screenshots kept as artefacts."""

    def __init__(self, browser: Browser, shots: Path) -> None:
        self.context: BrowserContext = browser.new_context(**PHONE)
        self.context.set_default_timeout(60_000)
        self.page: Page = self.context.new_page()
        self.shots = shots
        self.shots.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self.console_errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))

    def screenshot(self, name: str) -> Path:
        self._count += 1
        path = self.shots / f"{self._count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def close(self) -> None:
        self.context.close()
