"""The real supervisor console (``assistant serve console``) and an HTTP client for it.

The console's cookies are ``Secure``; HTTP libraries rightly refuse to send
those over plain http, so this client keeps cookies itself (browsers allow
Secure cookies on localhost, which the browser tests rely on).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import requests
from aiohttp import web

from assistant.core.config import Settings
from tests.support.local_server import LocalServer
from tests.support.processes import ManagedProcess, assistant_cli, free_port, http_ok

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def set_console_password(db_url: str, worker: str, password: str) -> None:
    import subprocess

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "console",
            "password",
            "--db",
            db_url,
            "--worker",
            worker,
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"setting the console password failed: {result.stderr}")


@dataclass
class ConsoleClient:
    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    http: requests.Session = field(default_factory=requests.Session)
    last_csrf: str | None = None

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        response = self.http.request(
            method, self.base_url + path, headers=headers, allow_redirects=False, timeout=120, **kwargs
        )
        for raw in response.raw.headers.getlist("Set-Cookie"):
            for name, morsel in SimpleCookie(raw).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        found = CSRF_INPUT.search(response.text) if "text/html" in response.headers.get("Content-Type", "") else None
        if found:
            self.last_csrf = found.group(1)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> requests.Response:
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.last_csrf or ""
        return self.request("POST", path, data=data, **kwargs)

    def login(self, username: str, password: str) -> requests.Response:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 303:
            self.get(response.headers["Location"])  # as a browser would; picks up the session's CSRF token
        return response


@dataclass
class RunningConsole:
    url: str
    process: ManagedProcess

    def client(self) -> ConsoleClient:
        return ConsoleClient(self.url)

    def stop(self) -> None:
        self.process.stop()


class ConsoleServer(LocalServer):
    """The console's own app on real databases, served from a thread of this process (as the backend's is)."""

    name = "console"

    def __init__(self, settings: Settings, db_url: str, tracker_url: str) -> None:
        super().__init__()
        self.settings, self.db_url, self.tracker_url = settings, db_url, tracker_url

    async def application(self) -> web.Application:
        from assistant.console.app import create_app
        from assistant.db.engine import Database

        return create_app(self.settings, Database.connect(self.db_url), Database.connect(self.tracker_url))


def start_console(
    db_url: str, tracker_url: str, log_dir: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> RunningConsole:
    port = free_port()
    process = ManagedProcess(
        "console",
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "serve",
            "console",
            "--db",
            db_url,
            "--tracker-db",
            tracker_url,
            "--port",
            str(port),
        ],
        log_dir / f"console-{port}.log",
        env=env,
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until_ready(lambda: http_ok(url + "/health"), timeout=timeout)
    except Exception:
        process.stop()
        raise
    return RunningConsole(url, process)


__all__ = ["ConsoleClient", "ConsoleServer", "RunningConsole", "start_console", "set_console_password", "assistant_cli"]
