"""Run the app with uvicorn in a background thread on a free loopback port: for tests, the
load benchmark and notebooks (``recurrente serve`` runs it in the foreground instead)."""

import socket
import threading
import time
from contextlib import contextmanager


@contextmanager
def serving(app, host: str = "127.0.0.1", log_level: str = "warning", start_timeout: float = 30):
    """``with serving(app) as url:`` the app answers at ``url`` (``http://127.0.0.1:PORT``)
    until the block ends; the port is chosen by the system, so runs never collide."""
    import uvicorn

    from recurrente.serve.protocol import http_protocol
    # proto given explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is TCP, and
    # without it every response on a kept-alive connection waits 40 ms for a delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on",
                                           server_header=False, http=http_protocol()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"uvicorn-{port}")
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
