"""Web chat first paint on a clinic phone's link: ``python -m bench webchat``.

The page's own files (gzip, as the channel serves them) from a local server,
loaded cold in Debian's headless Chromium at 360 px, three ways in the same
run: unthrottled (the baseline), on "good 2G" and on "slow 2G" (Chrome
DevTools' presets: round trip, down/up bandwidth), with the CPU slowed 4x
like a low-end Android phone. Reports bytes on the wire and first
contentful paint (median of several loads).
"""

from __future__ import annotations

import asyncio
import statistics
import threading
from typing import Any

from aiohttp import web

from assistant.channels.webchat.assets import Asset, load_assets
from tests.support.browser import CHROMIUM, FLAGS, PHONE
from tests.support.processes import free_port

LOADS = 5
# (name, round-trip ms, download bytes/s, upload bytes/s, CPU slowdown)
PROFILES = [
    ("unthrottled", 0, -1, -1, 1),
    ("good 2G", 150, 450 * 1024 // 8, 150 * 1024 // 8, 4),
    ("slow 2G", 300, 250 * 1024 // 8, 50 * 1024 // 8, 4),
]


def _serve(port: int, ready: threading.Event) -> None:
    assets = load_assets()

    def handler(asset: Asset) -> Any:
        async def serve(_: web.Request) -> web.Response:
            return web.Response(
                body=asset.gzipped,
                content_type=asset.content_type.split(";")[0],
                headers={"Content-Encoding": "gzip", "Cache-Control": "no-store"},
            )

        return serve

    app = web.Application()
    app.router.add_get("/webhooks/web/", handler(assets.page))
    app.router.add_get("/webhooks/web/app.js", handler(assets.script))
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    ready.set()
    loop.run_forever()


def _first_paint(browser: Any, url: str, profile: tuple[str, int, int, int, int]) -> float:
    _, latency, down, up, cpu = profile
    context = browser.new_context(**PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency, "downloadThroughput": down, "uploadThroughput": up},
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
    page.goto(url, wait_until="load")
    # Paint timing is recorded after the frame is drawn, which may come after "load".
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    paint = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime")
    context.close()
    return float(paint)


def main() -> None:
    from playwright.sync_api import sync_playwright

    assets = load_assets()
    print(
        f"page {len(assets.page.gzipped)} B + script {len(assets.script.gzipped)} B on the wire (gzip); "
        f"{len(assets.page.body) + len(assets.script.body)} B uncompressed; no other requests"
    )
    port, ready = free_port(), threading.Event()
    threading.Thread(target=_serve, args=(port, ready), daemon=True).start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port}/webhooks/web/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for profile in PROFILES:
                paints = [_first_paint(browser, url, profile) for _ in range(LOADS)]
                print(
                    f"{profile[0]:<12} first contentful paint: median {statistics.median(paints):7.0f} ms "
                    f"(min {min(paints):.0f}, max {max(paints):.0f}, {LOADS} cold loads)"
                )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
