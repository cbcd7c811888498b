"""The web page at ``GET /``: one self-contained file (``page.html``: HTML, CSS and script, no
CDN, no fonts or images fetched), a panel per loaded model, served with a strict
Content-Security-Policy that allows only its own script (by hash) and requests to this server.

The page holds no model name or data: it asks ``GET /v1/models`` (with the API key typed into
it, when the server has one) and builds the panels from the answer, writing every text the
server or the user gives with ``textContent``, never as HTML.
"""

import base64
import hashlib
import re
from functools import lru_cache
from importlib import resources

from fastapi.responses import HTMLResponse


@lru_cache(maxsize=1)
def page_html() -> str:
    return resources.files("recurrente.serve").joinpath("page.html").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def content_security_policy() -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page_html(), flags=re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest())
                      .decode() + "'" for s in scripts)
    return ("default-src 'none'; " f"script-src {hashes}; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def page_response() -> HTMLResponse:
    return HTMLResponse(page_html(), headers={
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache"})
