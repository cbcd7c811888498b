"""Load test of ``recurrente serve``: concurrent clients, a bounded number of mixed requests, on
127.0.0.1 only.

Starts the real server in its own process (so the clients' threads do not share its
interpreter), lists its models, and sends ``--requests`` requests from ``--clients`` threads,
each on its own keep-alive connection: generations (read to the end of the event stream),
perplexity scores, classifications, tags, translations, health checks, and a few bad requests
(unknown model, text over the limit, malformed JSON, too many tokens) that must get their
documented 4xx. Every request must be answered with its expected status (or 503, the documented
"busy"); the server must still be healthy after. Prints p50/p99 latency per kind and overall and
writes ``benchmarks/results/serve_load.json``.

    python benchmarks/serve_load.py                    # trains small runs of each task first
    python benchmarks/serve_load.py runs/quijote runs/reviews --clients 20 --requests 1000
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

TEXTS = {  # defaults; a character model's prime must use characters it knows: pass --prime
    "classify": ["una película preciosa y muy bien contada", "no me gustó nada, aburrida",
                 "uno dos alfa tres beta cuatro", "el libro es largo pero vale la pena"],
    "tag": ["Miguel de Cervantes nació en Alcalá de Henares", "ayer Pako dijo que Lima queda "
            "lejos", "la casa de Ana está cerca del mar"],
    "translate": ["uno gato", "el perro come pan", "la casa es azul", "dos sol luna"],
    "score": ["En un lugar de la Mancha, de cuyo nombre no quiero acordarme",
              "gato perro casa luna\n"],
}


# ----------------------------------------------------------------------------- one client

class Client:
    """One keep-alive connection; ``call`` returns ``(status, seconds, detail)``, status 0 for
    a request that got no HTTP answer (connection refused or reset, timeout)."""

    def __init__(self, url: str, key=None, timeout: float = 60):
        parts = urlsplit(url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.conn, self.payload, self.first = None, b"", None

    def call(self, method: str, path: str, body=None, raw: bytes = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        started = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=self.headers)
            response = self.conn.getresponse()
            self.first = None  # an event stream's first text event arrived after this long
            if "text/event-stream" in (response.getheader("content-type") or ""):
                lines = []
                for line in iter(response.readline, b""):  # read to the stream's end
                    if self.first is None and line.startswith(b"event: text"):
                        self.first = time.perf_counter() - started
                    lines.append(line)
                payload = self.payload = b"".join(lines)
            else:
                payload = self.payload = response.read()
            if response.getheader("connection", "").lower() == "close":
                self.close()
            return response.status, time.perf_counter() - started, _detail(response, payload)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return 0, time.perf_counter() - started, f"{type(e).__name__}: {e}"

    def get_json(self, path: str) -> dict:
        status, _, _ = self.call("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        return json.loads(self.payload)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _detail(response, payload: bytes) -> str:
    """For an event stream, its last event's name (``done`` or ``error``); else ''."""
    if "text/event-stream" not in (response.getheader("content-type") or ""):
        return ""
    events = [line[7:] for line in payload.decode("utf-8", "replace").split("\n")
              if line.startswith("event: ")]
    return events[-1] if events else "empty"


# ----------------------------------------------------------------------------- the mix

def plan(models: list, limits: dict, n: int, seed: int, texts: dict) -> list:
    """``n`` requests ``(kind, method, path, body or raw bytes, expected statuses)``."""
    rng = random.Random(seed)
    options = []  # (weight, maker)

    def path(model, what):
        return f"/v1/models/{quote(model['name'], safe='')}/{what}"
    for m in models:
        if "generate" in m["endpoints"]:
            primes = texts.get("prime") or [None]
            options.append((3, lambda m=m: ("generate", "POST", path(m, "generate"),
                            {"prime": rng.choice(primes), "length": rng.randint(16, 128),
                             "temperature": 0.8, "seed": rng.randrange(10 ** 6)}, {200})))
            options.append((2, lambda m=m: ("score", "POST", path(m, "score"),
                            {"text": rng.choice(texts["score"])}, {200})))
        for task in ("classify", "tag", "translate"):
            if task in m["endpoints"]:
                extra = {"beam": rng.randint(1, 4)} if task == "translate" else {}
                options.append((3, lambda m=m, t=task, e=extra: (t, "POST", path(m, t), {
                    "text": rng.choice(texts[t]), **e}, {200})))
    if not options:
        raise SystemExit("the server has no model this load test can call")
    first = next(e for m in models for e in m["endpoints"])
    owner = next(m for m in models if first in m["endpoints"])
    bad = [("bad-model", "POST", "/v1/models/..%2Fnot-a-model/classify", {"text": "x"}, {404}),
           ("bad-length", "POST", path(owner, first),
            {"text": "x" * (limits["max_chars"] + 1)} if first != "generate"
            else {"length": limits["max_tokens"] + 1}, {422}),
           ("bad-json", "POST", path(owner, first), b'{"text": ', {400})]
    options.append((1, lambda: rng.choice(bad)))
    options.append((1, lambda: ("health", "GET", "/health", None, {200})))
    weights, makers = zip(*options)
    return [rng.choices(makers, weights)[0]() for _ in range(n)]


def run_load(url: str, clients: int = 20, requests: int = 1000, time_limit: float = 300,
             seed: int = 0, key=None, texts=None) -> dict:
    """Send ``requests`` planned requests from ``clients`` threads (none starts after
    ``time_limit`` seconds); return the counts, the failures and the latency percentiles."""
    texts = {**TEXTS, **(texts or {})}
    probe = Client(url, key)
    listing = probe.get_json("/v1/models")
    probe.close()
    todo = plan(listing["models"], listing["limits"], requests, seed, texts)
    results, lock, nxt = [], threading.Lock(), iter(range(len(todo)))
    deadline = time.monotonic() + time_limit

    def worker():
        client = Client(url, key)
        while time.monotonic() < deadline:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            kind, method, path, body, expected = todo[i]
            raw = body if isinstance(body, bytes) else None
            status, seconds, detail = client.call(method, path, None if raw else body, raw)
            ok = status in expected or status == 503
            if kind == "generate" and status == 200:
                ok = detail == "done"
            with lock:
                results.append({"kind": kind, "status": status, "seconds": seconds,
                                "first_text_s": client.first, "detail": detail, "ok": ok})
        client.close()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    healthy = Client(url, key).call("GET", "/health")[0] == 200
    return summarize(results, requests, clients, wall, healthy)


def _percentiles(seconds: list) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def q(p):
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]
    return {"n": len(ordered), "p50_ms": round(1000 * q(0.50), 1), "p90_ms": round(1000 * q(0.90),
            1), "p99_ms": round(1000 * q(0.99), 1), "max_ms": round(1000 * ordered[-1], 1),
            "mean_ms": round(1000 * statistics.fmean(ordered), 1)}


def summarize(results: list, planned: int, clients: int, wall: float, healthy: bool) -> dict:
    statuses = {}
    for r in results:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    kinds = sorted({r["kind"] for r in results})
    return {"planned": planned, "sent": len(results), "clients": clients,
            "answered": sum(r["status"] != 0 for r in results),
            "as_expected": sum(r["ok"] for r in results),
            "failures": [r for r in results if not r["ok"]][:20],
            "statuses": statuses, "wall_s": round(wall, 2),
            "requests_per_s": round(len(results) / max(wall, 1e-9), 1),
            "latency": _percentiles([r["seconds"] for r in results]),
            "by_kind": {k: _percentiles([r["seconds"] for r in results if r["kind"] == k])
                        for k in kinds},
            "generate_first_text": _percentiles([r["first_text_s"] for r in results
                                                 if r.get("first_text_s") is not None]),
            "healthy_after": healthy}


# ----------------------------------------------------------------------------- the benchmark

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_runs(folder: Path) -> list:
    """Small runs of each task at the default model sizes (a step or two: the weights'
    quality does not change the work a request costs)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from recurrente.cli.main import main
    from tests.tag_fixtures import entity_sentences, write_conll
    from tests.test_classify import order_examples, write_csv
    quijote = Path(__file__).resolve().parents[2] / "shared" / "data" / "quijote.txt"
    corpus = folder / "quijote.txt"
    corpus.write_text(quijote.read_text(encoding="utf-8")[:400_000] if quijote.exists()
                      else TEXTS["score"][0] * 2000, encoding="utf-8")
    write_csv(folder / "reviews.csv", order_examples(400, seed=0))
    write_conll(folder / "ner.txt", entity_sentences(400, seed=0))
    words = {"uno": "one", "dos": "two", "gato": "cat", "perro": "dog", "casa": "house",
             "sol": "sun", "luna": "moon", "el": "the", "la": "the", "es": "is", "azul": "blue",
             "come": "eats", "pan": "bread"}
    rng = random.Random(0)
    lines = []
    for _ in range(600):
        ws = [rng.choice(sorted(words)) for _ in range(rng.randint(1, 6))]
        lines.append(" ".join(ws) + "\t" + " ".join(words[w] for w in ws))
    (folder / "pairs.tsv").write_text("\n".join(lines) + "\n")
    common = ["--max-steps", "2", "--quiet"]
    jobs = [("quijote", ["train", str(corpus), "--layers", "2", "--hidden", "256"]),
            ("reviews", ["classify", "train", str(folder / "reviews.csv")]),
            ("ner", ["tag", "train", str(folder / "ner.txt")]),
            ("translator", ["translate", "train", str(folder / "pairs.tsv")])]
    runs = []
    for name, argv in jobs:
        out = folder / name
        if main([*argv, "--out", str(out), *common]) == 0:
            runs.append(out)
        else:
            print(f"note: could not train the {name} run; it is left out", file=sys.stderr)
    return runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run directories (default: train small ones)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=300, help="seconds; no request "
                        "starts after it")
    parser.add_argument("--prime", action="append", help="a prime the language model knows "
                        "(repeatable; default 'En un lugar' with the trained runs, else none)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="JSON file for the results (default "
                        "benchmarks/results/serve_load.json)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or train_runs(Path(tmp))
        primes = args.prime or ([None, "En un lugar", "Sancho"] if not args.runs else [None])
        port = free_port()
        env = {**os.environ, "RECURRENTE_API_KEY": ""}
        server = subprocess.Popen([sys.executable, "-m", "recurrente.cli.main", "serve",
                                   *map(str, runs), "--port", str(port), "--device",
                                   args.device, "--log-level", "warning"], env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, server)
            load_before = os.getloadavg()
            result = run_load(url, args.clients, args.requests, args.time_limit, args.seed,
                              texts={"prime": primes})
            result["loadavg_before"] = [round(x, 2) for x in load_before]
            result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            result["cpus"] = os.cpu_count()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(report(result))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import machine, write_json
    record = {"argv": argv if argv is not None else sys.argv[1:], "device": args.device,
              **result}
    if args.out:
        path = Path(args.out)
        path.write_text(json.dumps({"machine": machine(), **record}, indent=2) + "\n")
    else:
        path = write_json("serve_load", record)
    print(f"wrote {path}")
    complete = result["as_expected"] == result["sent"] == args.requests
    return 0 if complete and result["healthy_after"] else 1


def _wait_healthy(url: str, server, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        if Client(url, timeout=2).call("GET", "/health")[0] == 200:
            return
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {timeout:g} s")


def report(r: dict) -> str:
    lines = [f"{r['sent']} of {r['planned']} requests from {r['clients']} clients in "
             f"{r['wall_s']} s ({r['requests_per_s']} requests/s): {r['answered']} answered, "
             f"{r['as_expected']} as expected; statuses {r['statuses']}; healthy after: "
             f"{r['healthy_after']}",
             f"{'kind':<12}{'n':>6}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    rows = [*r["by_kind"].items(), ("all", r["latency"])]
    if r["generate_first_text"]:
        rows.append(("first text", r["generate_first_text"]))
    for kind, p in rows:
        lines.append(f"{kind:<12}{p['n']:>6}{p['p50_ms']:>10}{p['p90_ms']:>10}{p['p99_ms']:>10}"
                     f"{p['max_ms']:>10}")
    for f in r["failures"][:5]:
        lines.append(f"unexpected: {f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
