"""``recurrente serve``: an HTTP API and a web page for trained runs of any task.

Each run is served under its directory's base name (made unique with -2, -3 ...): a language
model generates (server-sent events) and scores, a classifier classifies, a tagger tags, a
translator translates. The page at / has a panel per model; the OpenAPI page is at /docs.

Safe by default: it listens on 127.0.0.1 only (--host 0.0.0.0 to open it to the network, with
--api-key); every request is limited in body size, text length, tokens, beam size and time, and
answered with one JSON sentence when over a limit. The server reads the runs once at start and
writes nothing. Needs the serve extra: pip install 'recurrente[serve]'.
"""

import argparse
import os
import sys

from recurrente.cli.checks import BEAM, CHARS, integer, number

EXAMPLE = """examples:
  recurrente serve runs/quijote runs/reviews runs/ner          # http://127.0.0.1:8000/
  RECURRENTE_API_KEY=s3cret recurrente serve runs/quijote --host 0.0.0.0 --port 8080
  curl -N -X POST localhost:8000/v1/models/quijote/generate -H 'Content-Type: application/json' \\
       -d '{"prime": "En un lugar", "length": 200, "temperature": 0.8}'
  curl -X POST localhost:8000/v1/models/reviews/classify -d '{"text": "una joya"}' \\
       -H 'Content-Type: application/json'"""
ENV_KEY = "RECURRENTE_API_KEY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(subparsers) -> None:
    from recurrente.serve.limits import Limits
    p = subparsers.add_parser("serve", help="serve trained runs over HTTP, with a web page",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="RUN", help="run directories to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1"
                                                       ", this machine only)")
    p.add_argument("--port", type=integer(0, 65535), default=8000, help="port (default 8000)")
    p.add_argument("--api-key", default=None, help=f"require 'Authorization: Bearer KEY' on "
                   f"every /v1 request (default: the {ENV_KEY} environment variable, if set)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    defaults = Limits()
    for flag, what, kind in (
            ("max-body", "bytes of a request body", integer(1, 2 ** 30)),
            ("max-chars", "characters of one text", CHARS),
            ("max-texts", "texts in one request (of a task taking a list)", integer(1, 10 ** 5)),
            ("max-tokens", "tokens one generate request may ask for", integer(1, 10 ** 6)),
            ("max-beam", "beam size and n-best", BEAM),
            ("max-seconds", "seconds of model time (waiting included) per request",
             number(0, 86400, low_open=True)),
            ("max-queue", "requests that may wait for one model before a 503",
             integer(1, 10 ** 5))):
        name = flag.replace("-", "_")
        default = getattr(defaults, name)
        p.add_argument(f"--{flag}", type=kind, default=default,
                       help=f"{what} (default {default:g})")
    p.add_argument("--log-level", default="info", help="uvicorn's: warning, info, debug ...")
    p.set_defaults(run=run)


def require_extra():
    """FastAPI and uvicorn, or a UserError saying how to get them."""
    from recurrente.errors import UserError
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        raise UserError(f"recurrente serve needs FastAPI and uvicorn ({e.name} is missing): "
                        f"pip install 'recurrente[serve]'") from None
    return uvicorn


def build(args, log=print):
    """The app for ``args`` (also used by the tests and the load benchmark)."""
    from recurrente.serve.app import create_app
    from recurrente.serve.limits import Limits
    from recurrente.serve.predictors import load_predictors
    from recurrente.device import resolve_device
    limits = Limits(**{name: getattr(args, name) for name in Limits().flags()})
    device = resolve_device(args.device)
    predictors = load_predictors(args.runs, device=str(device), log=log)
    key = args.api_key if args.api_key is not None else os.environ.get(ENV_KEY) or None
    # on loopback, only loopback Host headers: a page whose domain is rebound to 127.0.0.1
    # must not reach the models through the user's browser
    hosts = list(LOOPBACK) if args.host in LOOPBACK else None
    return create_app(predictors, limits, api_key=key, allowed_hosts=hosts), predictors, key, \
        device


def run(args) -> int:
    from recurrente.errors import UserError
    uvicorn = require_extra()
    if not 0 <= args.port <= 65535:
        raise UserError(f"expected --port from 0 to 65535, got {args.port}")
    app, predictors, key, device = build(args)
    if args.host not in LOOPBACK and not key:
        print(f"warning: listening on {args.host} without --api-key: anyone who can reach this "
              f"machine can use the models", file=sys.stderr)
    for p in predictors:
        print(f"  {p.name}: {p.title or p.task}, {', '.join(p.endpoints)}")
    where = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {len(predictors)} model{'s' * (len(predictors) != 1)} on {device} at "
          f"http://{where}:{args.port}/ (API /v1/models, docs /docs"
          f"{', API key required' if key else ''}); Ctrl-C stops")
    from recurrente.serve.protocol import http_protocol
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                server_header=False, http=http_protocol())  # parser errors as JSON too
    print("server stopped")
    return 0
