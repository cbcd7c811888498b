"""The web page at ``GET /``: one self-contained page (HTML, CSS and script, no CDN, no fonts or
images fetched), a panel per loaded model, served with a strict Content-Security-Policy that
allows only its own scripts (by hash) and requests to this server.

``page.html`` is the shell: the header, the API key, the shared helpers and the loop that builds
the panels. Each task's panel comes from its folder (:meth:`~recurrente.serve.predictors.
Predictor.page_part`): ``panel.css``, added to the styles, and ``panel.js``, a script that
defines ``build(m, panel)`` (``m``: the model's entry of ``GET /v1/models``; ``panel``: its
section, holding its name and title), which the page calls for every model of that task. A
task without a panel gets a line naming its endpoints.

The page holds no model name or data: it asks ``GET /v1/models`` (with the API key typed into
it, when the server has one) and builds the panels from the answer, writing every text the
server or the user gives with ``textContent``, never as HTML.
"""

import base64
import hashlib
import json
import re
from functools import lru_cache
from importlib import resources

from fastapi.responses import HTMLResponse

STYLES, PANELS = "<!-- task styles -->", "<!-- task panels -->"  # where the shell takes them


@lru_cache(maxsize=1)
def shell() -> str:
    return resources.files("recurrente.serve").joinpath("page.html").read_text(encoding="utf-8")


def page_html(predictors) -> str:
    """The page for ``predictors``: the shell with the panel of each of their tasks."""
    styles, scripts, seen = [], [], set()
    for p in predictors:
        if p.task in seen:
            continue
        seen.add(p.task)
        style, script = type(p).page_part("css"), type(p).page_part("js")
        for text, end in ((style, "</style"), (script, "</script")):
            if end in text.lower():
                raise ValueError(f"the page panel of {p.task!r} holds {end}>, which would end "
                                 f"its element early")
        if style:
            styles.append(f"<style>\n{style}</style>")
        if script:
            scripts.append(f"<script>\n\"use strict\";\nbuilders[{json.dumps(p.task)}] = "
                           f"(function () {{\n{script}\nreturn build;\n}})();\n</script>")
    return shell().replace(STYLES, "\n".join(styles)).replace(PANELS, "\n".join(scripts))


@lru_cache(maxsize=8)
def content_security_policy(html: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest())
                      .decode() + "'" for s in scripts)
    return ("default-src 'none'; " f"script-src {hashes}; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def page_response(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={
        "Content-Security-Policy": content_security_policy(html),
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache"})
