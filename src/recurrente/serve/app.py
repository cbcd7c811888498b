"""The HTTP API: a FastAPI app over the predictors of the runs given to ``recurrente serve``.

Routes::

    GET  /                              the web page: a panel per model, from its task's folder
    GET  /health                        {"status": "ok"}; never waits for a model, needs no key
    GET  /v1/models                     every model: name, task, endpoints, its details, limits
    POST /v1/models/{name}/{endpoint}   each endpoint of the loaded models' tasks: the body and
                                        the answer its task's serve module describes
    GET  /docs, /openapi.json           FastAPI's OpenAPI page and schema, every endpoint in it

The model routes come from the tasks (:class:`~recurrente.serve.predictors.Endpoint`): one
route per endpoint name of the predictors given, each request answered by the predictor it
names (404 with a sentence when that model answers other endpoints).

With an API key every ``/v1`` request needs ``Authorization: Bearer KEY``; ``/``, ``/health``,
``/docs`` and ``/openapi.json`` hold no model, name or data and stay open (the page asks for the
key and sends it with its own requests). ``HEAD`` is answered wherever ``GET`` is (monitors
probe ``/health`` with it). Errors are ``{"error": "one sentence"}`` with the statuses of
:mod:`recurrente.serve.limits`; text that is not Unicode (a lone surrogate) is refused at the
request, the same way for every endpoint. Model work runs in worker threads, one call at a time
per model (:class:`~recurrente.serve.limits.Gate`), so the event loop, and with it
``/health``, is never blocked by a model.
"""

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Dict, List, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from recurrente.errors import UserError
from recurrente.serve.limits import (BodyLimit, Gate, Limits, RequestError, authorized, check_chars,
                                     check_texts, send_error)
from recurrente.serve.predictors import Endpoint, Predictor

log = logging.getLogger("recurrente.serve")
OPEN_PATHS = ("/", "/health", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
STREAM_CHUNK_S = 0.02  # model work per generation chunk: other requests take turns between


# ----------------------------------------------------------------------------- the app

def create_app(predictors: List[Predictor], limits: Optional[Limits] = None,
               api_key: Optional[str] = None, allowed_hosts: Optional[List[str]] = None):
    """The ASGI app serving ``predictors`` (names unique), wrapped in the key check and the
    body-size limit; with ``allowed_hosts``, a request whose ``Host`` header names another
    host is refused (a web page that rebinds its domain to 127.0.0.1 cannot drive the models).
    The model routes are the endpoints of the predictors' tasks (:func:`endpoints_of`)."""
    limits = limits or Limits()
    models = {p.name: p for p in predictors}
    assert len(models) == len(predictors), "predictor names must be unique"
    endpoints = endpoints_of(predictors)
    executor = ThreadPoolExecutor(max_workers=len(predictors) + 1,
                                  thread_name_prefix="recurrente-model")
    gates = {p.name: Gate(p.name, limits, executor) for p in predictors}

    @asynccontextmanager
    async def lifespan(app):
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    from recurrente import __version__
    answers = f": {', '.join(endpoints)}" if endpoints else ""
    app = FastAPI(title="recurrente", version=__version__, lifespan=lifespan,
                  description=f"Recurrent networks trained with recurrente{answers}. Errors are "
                              f"{{\"error\": sentence}}.")
    app.state.limits, app.state.models = limits, models
    _add_error_handlers(app)
    _add_routes(app, models, limits, predictors)
    _add_model_routes(app, endpoints, models, gates, limits)
    wrapped = BodyLimit(app, limits.max_body)
    wrapped = KeyCheck(wrapped, api_key) if api_key else wrapped
    wrapped = HostCheck(wrapped, allowed_hosts) if allowed_hosts else wrapped
    return HeadAsGet(wrapped)


def endpoints_of(predictors: List[Predictor]) -> Dict[str, Endpoint]:
    """name -> :class:`~recurrente.serve.predictors.Endpoint` of every route the predictors'
    tasks have, in the order they come; two tasks may share a name only with one request body
    (one route checks it for both)."""
    found: Dict[str, Endpoint] = {}
    for p in predictors:
        for endpoint in p.routes:
            first = found.setdefault(endpoint.name, endpoint)
            if first.request is not endpoint.request:
                raise ValueError(f"two tasks answer {endpoint.name!r} with different request "
                                 f"bodies ({first.request.__name__} and "
                                 f"{endpoint.request.__name__}); one route cannot check both")
    return found


def _add_routes(app: FastAPI, models: dict, limits: Limits, predictors: List[Predictor]) -> None:
    from recurrente.serve.page import page_html, page_response
    html = page_html(predictors)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return page_response(html)

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    async def list_models():
        return {"models": [p.info() for p in models.values()], "limits": limits.flags()}


def _add_model_routes(app: FastAPI, endpoints: Dict[str, Endpoint], models: dict,
                      gates: dict, limits: Limits) -> None:
    """A route per endpoint, then one for every other endpoint name: a 404 that says what the
    model does answer (a task none of the loaded models has is no route of its own)."""
    for endpoint in endpoints.values():
        _add_endpoint(app, endpoint, models, gates, limits)

    @app.post("/v1/models/{name}/{endpoint}", include_in_schema=False)
    async def other(name: str, endpoint: str):
        asked = repr(_shown(endpoint, 40))
        _find(models, name, asked)
        raise RequestError(404, f"model {name!r} has no route for {asked}")


def _add_endpoint(app: FastAPI, endpoint: Endpoint, models: dict, gates: dict,
                  limits: Limits) -> None:
    """``POST /v1/models/{name}/<endpoint>``: the body checked against the endpoint's request
    model, then answered by the predictor called ``name`` (a 404 sentence when there is none,
    or when it answers other endpoints)."""

    async def answer(name: str, body: endpoint.request):
        p = _find(models, name, endpoint.name)
        own = next(e for e in p.routes if e.name == endpoint.name)
        result = await own.answer(p, body, Call(gates[name], limits))
        return {"model": name, **result} if isinstance(result, dict) else result

    app.post(f"/v1/models/{{name}}/{endpoint.name}", name=endpoint.name,
             summary=endpoint.summary or None, responses=endpoint.responses)(answer)


class Call:
    """What an endpoint's answer gets besides its predictor and body: the limits, the text
    checks, and the model's gate, which every piece of model work goes through (in a worker
    thread, one at a time per model, within ``--max-seconds``)."""

    def __init__(self, gate: Gate, limits: Limits):
        self.gate, self.limits = gate, limits

    def texts(self, body) -> List[str]:
        """The ``text`` or ``texts`` of a :class:`~recurrente.serve.requests.TextsRequest`,
        checked (exactly one of them, ``--max-texts``, ``--max-chars``, Unicode)."""
        return check_texts(body.model_dump(), self.limits)

    def chars(self, text: str, what: str = "a text") -> str:
        """``text`` checked (``--max-chars``, Unicode); ``what`` names it in the sentence."""
        return check_chars(text, self.limits, what)

    async def run(self, fn):
        """``fn()`` in a worker thread under the model's gate: its result, or a 408 or 503
        sentence past ``--max-seconds`` or ``--max-queue``."""
        deadline = asyncio.get_running_loop().time() + self.limits.max_seconds
        return await self.gate.run(fn, deadline)

    def stream(self, gen) -> StreamingResponse:
        """A generation as server-sent events (see :func:`_events`: what ``gen`` must have),
        advanced chunk by chunk under the model's gate; a 503 now when its queue is full."""
        self.gate.check_room()
        return StreamingResponse(_events(self.gate, gen, self.limits),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _find(models: dict, name: str, endpoint: str) -> Predictor:
    """The predictor called ``name`` that answers ``endpoint``; a 404 sentence otherwise. Only
    a lookup in what was loaded: a name never reaches the file system."""
    p = models.get(name)
    if p is None:
        raise RequestError(404, f"no model named {_shown(name, 60)!r}; this server has "
                                f"{', '.join(sorted(models)) or 'none'} (GET /v1/models)")
    if endpoint not in p.endpoints:
        raise RequestError(404, f"model {name!r} is a {p.title}: it answers "
                                f"{' and '.join(p.endpoints) or 'nothing'}, not {endpoint}")
    return p


def _shown(text: str, limit: int) -> str:
    """A name from a request's path, short enough for an error sentence."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _events(gate: Gate, gen, limits: Limits):
    """The generation as server-sent events: ``text`` pieces as they are written, then
    ``done`` (or ``error`` with a sentence, e.g. past the time limit). ``gen`` has ``done``,
    ``new`` (the tokens so far), ``advance(max_seconds=...)`` (a short piece of work: the text
    it adds), ``text()`` and ``full_text()`` (prime and text, in reading order)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + limits.max_seconds
    try:
        while not gen.done:
            if loop.time() >= deadline:
                raise RequestError(408, f"the generation took longer than the "
                                        f"{limits.max_seconds:g} s limit (--max-seconds) after "
                                        f"{len(gen.new)} tokens; ask for fewer")
            piece = await gate.run(lambda: gen.advance(max_seconds=STREAM_CHUNK_S), deadline)
            if piece:
                yield _sse("text", {"text": piece})
    except RequestError as e:
        yield _sse("error", {"error": e.message, "status": e.status})
        return
    except UserError as e:
        yield _sse("error", {"error": str(e), "status": 422})
        return
    except Exception as e:  # the stream has begun: say so in it, not with a cut connection
        log.exception("error while generating")
        yield _sse("error", {"error": f"internal error ({type(e).__name__}); the server log has "
                                      f"the details", "status": 500})
        return
    seconds = loop.time() - started
    yield _sse("done", {"tokens": len(gen.new), "text": gen.text(), "full_text": gen.full_text(),
                        "seconds": round(seconds, 4),
                        "tokens_per_s": round(len(gen.new) / max(seconds, 1e-9), 1)})


# ----------------------------------------------------------------------------- errors

def _error(status: int, message: str, headers: Optional[dict] = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(request, e: RequestError):
        return _error(e.status, e.message, e.headers)

    @app.exception_handler(UserError)
    async def user_error(request, e: UserError):
        return _error(422, str(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, e: RequestValidationError):
        return _error(*_validation_sentence(e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, e: StarletteHTTPException):
        method = "HEAD" if request.scope.get(HEAD_KEY) else request.method
        messages = {404: f"no route {method} {request.url.path[:80]}; see GET /docs",
                    405: f"{method} is not allowed on {request.url.path[:80]}"}
        return _error(e.status_code, messages.get(e.status_code, str(e.detail)),
                      getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(request, e: Exception):
        log.exception("error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(e).__name__}); the server log has the details")


def _validation_sentence(errors) -> tuple:
    """``(status, one sentence)`` for pydantic's list of errors: the first one."""
    if not errors:
        return 422, "the request body is not valid"
    first = errors[0]
    kind, loc = first.get("type", ""), [str(x) for x in first.get("loc", ()) if x != "body"]
    if kind == "json_invalid":
        return 400, f"the request body is not valid JSON ({first.get('ctx', {}).get('error', '')}"\
                    f")".replace(" ()", "")
    if not loc and kind in ("missing", "model_attributes_type", "dict_type", "model_type"):
        return 400, "expected a JSON object as the request body"
    field = ".".join(loc)
    if kind == "missing":
        return 422, f'the field "{field}" is missing'
    if kind == "extra_forbidden":
        return 422, f'unknown field "{field}"'
    got = first.get("input")
    shown = json.dumps(got)[:40] if isinstance(got, (str, int, float, bool, type(None))) \
        else type(got).__name__
    return 422, f'field "{field}": {first.get("msg", "invalid").lower()}, got {shown}'


HEAD_KEY = "recurrente.head"  # in the scope of a HEAD request answered as a GET


class HeadAsGet:
    """ASGI middleware: a ``HEAD`` request is answered as its ``GET`` would be (status and
    headers, ``Content-Length`` included), without the body; a route without ``GET`` answers
    ``HEAD`` with its 405."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)
        await self.app({**scope, "method": "GET", HEAD_KEY: True}, receive, headers_only)


class HostCheck:
    """ASGI middleware: only requests whose ``Host`` header (port aside) is one of ``hosts``."""

    def __init__(self, app, hosts):
        self.app, self.hosts = app, {h.lower().strip("[]") for h in hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            name = host[1:].partition("]")[0] if host.startswith("[") else host.partition(":")[0]
            if name not in self.hosts:
                allowed = ", ".join(sorted(self.hosts))
                return await send_error(send, 400, f"the Host header {host[:60]!r} is not one "
                                                   f"this server answers ({allowed})")
        await self.app(scope, receive, send)


class KeyCheck:
    """ASGI middleware: every request outside :data:`OPEN_PATHS` needs the bearer key (401
    with one sentence otherwise), checked before the body is read."""

    def __init__(self, app, key: str):
        self.app, self.key = app, key

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            headers = dict(scope.get("headers") or [])
            header = headers.get(b"authorization", b"").decode("latin-1")
            if not authorized(header, self.key):
                said = "a wrong key" if header else "none"
                return await send_error(send, 401, f"expected the header Authorization: Bearer "
                                                   f"KEY (this server has an API key), got {said}",
                                        [(b"www-authenticate", b"Bearer")])
        await self.app(scope, receive, send)
