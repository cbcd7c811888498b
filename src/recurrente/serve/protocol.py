"""A request uvicorn's HTTP parser cannot read, answered with the server's JSON sentence.

uvicorn answers a request line or header it cannot parse (a ``Content-Length`` that is not a
number, two of them that differ, a malformed request line) itself, before the app sees anything,
with a plain-text ``400 Invalid HTTP request received.``. :func:`http_protocol` gives uvicorn a
subclass of the protocol it would choose (httptools when installed, else h11) whose 400 is
``{"error": sentence}`` like every other error of the server. It overrides
``send_400_response``, which both of uvicorn's implementations have; should a later uvicorn
lack it, its own protocol is used and the answer is its plain text again.
"""

import json

PARSER_ERROR = ("the request is not valid HTTP/1.1 (its request line or a header, such as "
                "Content-Length, cannot be read)")


def http_protocol():
    """The ``http`` argument for ``uvicorn.run``: a protocol class, or ``"auto"``."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol
    if not callable(getattr(AutoHTTPProtocol, "send_400_response", None)):
        return "auto"

    class JSONErrorProtocol(AutoHTTPProtocol):
        def send_400_response(self, msg: str) -> None:  # uvicorn's hook for parser errors
            self.transport.write(parser_error_response(
                getattr(getattr(self, "server_state", None), "default_headers", ())))
            self.transport.close()

    return JSONErrorProtocol


def parser_error_response(default_headers=()) -> bytes:
    """The bytes of the 400 answer: status line, headers (uvicorn's defaults, e.g. ``date``,
    first), the JSON sentence; the connection is closed after it."""
    body = json.dumps({"error": PARSER_ERROR}).encode()
    lines = [b"HTTP/1.1 400 Bad Request"]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [b"content-type: application/json", b"content-length: " + str(len(body)).encode(),
              b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
