"""The page's files, ready to serve: gzip-compressed once at start, with ETags and a versioned script URL.

On a 2G link every byte and round trip shows: the page is one HTML document
(styles inline) and one script, both compressed; the script's URL carries its
hash, so browsers cache it for good and re-fetch only after a change.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

STATIC_DIR = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # Nothing may come from elsewhere: no CDN, no fonts, no third-party script.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    immutable: bool

    @classmethod
    def of(cls, body: bytes, content_type: str, immutable: bool = False) -> Asset:
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, gzip.compress(body, compresslevel=9, mtime=0), content_type, etag, immutable)

    def serve(self, request: Request) -> HTTPResponse:
        headers = {
            **SECURITY_HEADERS,
            "ETag": self.etag,
            "Vary": "Accept-Encoding",
            "Cache-Control": "public, max-age=31536000, immutable" if self.immutable else "no-cache",
        }
        if request.headers.get("If-None-Match") == self.etag:
            return response.empty(status=304, headers=headers)
        body = self.body
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = self.gzipped, "gzip"
        return response.raw(body, content_type=self.content_type, headers=headers)


@dataclass(frozen=True)
class PageAssets:
    page: Asset
    script: Asset
    script_version: str


def load_assets() -> PageAssets:
    script = (STATIC_DIR / "app.js").read_bytes()
    version = hashlib.sha256(script).hexdigest()[:12]
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    html = html.replace('src="app.js"', f'src="app.js?v={version}"')
    return PageAssets(
        page=Asset.of(html.encode("utf-8"), "text/html; charset=utf-8"),
        script=Asset.of(script, "text/javascript; charset=utf-8", immutable=True),
        script_version=version,
    )
