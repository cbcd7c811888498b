"""What one request may ask of the server, and the answer when it asks for more.

Every limit is a number on :class:`Limits` (the ``recurrente serve`` flags set them); a request
over one gets a 4xx status and one JSON sentence, ``{"error": "..."}``, that names the limit and
the flag that moves it. The statuses:

====  ===========================================================================================
400   malformed JSON, a body that is not a JSON object, (on loopback) a foreign ``Host``, or a
      request the HTTP parser cannot read, e.g. a bad ``Content-Length`` (``serve/protocol.py``)
401   ``--api-key`` is set and the request has no ``Authorization: Bearer KEY`` (or a wrong key)
404   no such model (names come only from the runs loaded), route, or task for that model
405   a method the route does not take (``HEAD`` is answered wherever ``GET`` is)
408   the model worked on the request for longer than ``--max-seconds``
413   a body over ``--max-body`` bytes
422   a field missing, of the wrong type or out of range (lengths, beam, temperature, texts), or
      a text that is not Unicode (a lone surrogate)
500   a bug: the sentence names the exception, the server log has the traceback
503   the server is busy: ``--max-queue`` requests already wait for the model, or this one
      waited for it past ``--max-seconds`` (with ``Retry-After``)
====  ===========================================================================================
"""

import asyncio
import hmac
import json
import math
from dataclasses import dataclass, fields
from typing import Callable

from recurrente.errors import UserError


@dataclass
class Limits:
    """The per-request limits; each breach is a 4xx with one sentence (see the module doc)."""
    max_body: int = 65536        # bytes of a request body
    max_chars: int = 4000        # characters of one text of a request
    max_texts: int = 32          # texts in one request that takes several
    max_tokens: int = 2000       # tokens one streamed generation may ask for
    max_beam: int = 16           # beam size (and n-best) of a search
    max_seconds: float = 30.0    # model time of one request, waiting for the model included
    max_queue: int = 64          # requests waiting for one model before 503

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UserError(f"expected --{f.name.replace('_', '-')} a finite number > 0, "
                                f"got {value}")

    def flags(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RequestError(Exception):
    """A request the server refuses: an HTTP status and one sentence."""

    def __init__(self, status: int, message: str, headers: dict = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class Gate:
    """One model's queue: calls run one at a time in a worker thread (never on the event loop),
    at most ``max_queue`` wait, and a call waits and works at most until its deadline.

    Waiting costs no thread (an ``asyncio.Lock``). A call past its deadline is answered 408 at
    once; its thread finishes the piece of work it is doing and only then frees the model."""

    def __init__(self, name: str, limits: Limits, executor):
        self.name, self.limits, self.executor = name, limits, executor
        self.waiting, self._lock, self._loop = 0, None, None

    @property
    def lock(self) -> asyncio.Lock:
        """The lock of the running event loop (an app served again gets a fresh one)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._lock = loop, asyncio.Lock()
        return self._lock

    def check_room(self) -> None:
        if self.waiting >= self.limits.max_queue:
            raise RequestError(503, f"model {self.name!r} is busy: {self.waiting} requests "
                                    f"already wait for it (--max-queue); try again shortly",
                               {"Retry-After": "1"})

    async def run(self, fn: Callable, deadline: float):
        self.check_room()
        loop, lock = asyncio.get_running_loop(), self.lock
        self.waiting += 1
        try:
            await asyncio.wait_for(lock.acquire(), timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise RequestError(503, f"model {self.name!r} is busy: the request waited for it "
                                    f"past the {self.limits.max_seconds:g} s limit "
                                    f"(--max-seconds)", {"Retry-After": "1"}) from None
        finally:
            self.waiting -= 1
        future = loop.run_in_executor(self.executor, fn)
        future.add_done_callback(lambda _: lock.release())
        try:
            return await asyncio.wait_for(asyncio.shield(future),
                                          timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise RequestError(408, f"the request took longer than the "
                                    f"{self.limits.max_seconds:g} s limit (--max-seconds); send "
                                    f"less work at once") from None


def check_texts(body: dict, limits: Limits) -> list:
    """``text`` (one string) or ``texts`` (a list of strings), within the limits."""
    has_text, has_texts = body.get("text") is not None, body.get("texts") is not None
    if has_text == has_texts:
        raise RequestError(422, 'expected exactly one of "text" (a string) or "texts" (a list '
                                'of strings)')
    texts = [body["text"]] if has_text else body["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise RequestError(422, f'expected "{"text" if has_text else "texts"}" to be '
                                f'{"a string" if has_text else "a list of strings"}')
    if not 1 <= len(texts) <= limits.max_texts:
        raise RequestError(422, f'expected 1 to {limits.max_texts} texts (--max-texts), got '
                                f'{len(texts)}')
    for text in texts:
        check_chars(text, limits)
    return texts


def check_chars(text: str, limits: Limits, what: str = "a text") -> str:
    """``text`` within ``--max-chars``, and Unicode text: JSON can carry a lone surrogate
    (``"\\ud800"``) that no answer could be encoded with, so it is refused here, at the request,
    for every endpoint alike."""
    if len(text) > limits.max_chars:
        raise RequestError(422, f"{what} has {len(text):,} characters, over the limit of "
                                f"{limits.max_chars:,} (--max-chars)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RequestError(422, f"{what} holds {text[e.start]!r} at character {e.start + 1}, a "
                                f"lone surrogate that is not Unicode text; send valid UTF-8 "
                                f"(surrogate pairs are fine)") from None
    return text


def authorized(header: str, key: str) -> bool:
    """``Authorization: Bearer KEY`` with the right key (compared in constant time)."""
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                               key.encode())


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes is answered 413 and never reaches the app,
    by its ``Content-Length`` or, for a chunked body, as soon as the bytes received pass it (the
    body, at most ``limit`` bytes, is read here and handed on whole)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return await send_error(send, 400, "the Content-Length header is not a number")
            if int(length) > self.limit:
                return await self._too_large(send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._too_large(send)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the disconnect, when it comes
        return await self.app(scope, replay, send)

    async def _too_large(self, send):
        await send_error(send, 413, f"the request body is over the limit of {self.limit:,} "
                                    f"bytes (--max-body)", [(b"connection", b"close")])


async def send_error(send, status: int, message: str, headers=()) -> None:
    """Answer an ASGI request with ``{"error": message}`` (for middleware, before the app)."""
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
