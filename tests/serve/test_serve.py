"""``recurrente serve``: every endpoint against the library's own answers, the event stream,
the bad-request sweep (each a 4xx with one sentence, the server still up), the API key,
concurrency (own state per request, health never blocked, time and queue limits), a bounded
load test, and the page in a real headless Chromium."""

import json
import random
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")
pytest.importorskip("httpx", reason="httpx (FastAPI's TestClient) is not installed")

with warnings.catch_warnings():  # starlette's notice about httpx's successor
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from benchmarks.serve_load import Client, run_load  # noqa: E402
from recurrente.cli.main import main  # noqa: E402
from recurrente.serve.app import create_app  # noqa: E402
from recurrente.serve.background import serving  # noqa: E402
from recurrente.serve.limits import Limits  # noqa: E402
from recurrente.errors import UserError  # noqa: E402
from recurrente.serve.predictors import Predictor, load_predictors, unique_names  # noqa: E402
from recurrente.tasks.lm.serve import ROUTES as LM_ROUTES  # noqa: E402
from tests.cdp import Browser, chromium_path  # noqa: E402
from tests.lm_fixtures import word_corpus  # noqa: E402
from tests.tag_fixtures import entity_sentences, write_conll  # noqa: E402
from tests.classify_fixtures import order_examples, write_csv  # noqa: E402
from tests.results import as_dicts  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
WORDS = {"uno": "one", "dos": "two", "gato": "cat", "perro": "dog", "casa": "house",
         "luna": "moon"}
SENTENCE = "ayer Pako Lima dijo que Zuma queda lejos"


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Small runs of every task, trained with the command line in this process."""
    data, out = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("runs")
    (data / "words.txt").write_text(word_corpus(2000))
    write_csv(data / "order.csv", order_examples(200, seed=0))
    write_conll(data / "ner.txt", entity_sentences(120, seed=0))
    rng = random.Random(0)
    pairs = []
    for _ in range(200):
        ws = [rng.choice(sorted(WORDS)) for _ in range(rng.randint(1, 4))]
        pairs.append(" ".join(ws) + "\t" + " ".join(WORDS[w] for w in ws))
    (data / "pairs.tsv").write_text("\n".join(pairs) + "\n")
    quiet = ["--max-steps", "3", "--quiet"]
    assert main(["train", str(data / "words.txt"), "--out", str(out / "poems"), "--preset",
                 "tiny", "--seq-len", "16", "--batch-size", "8", *quiet]) == 0
    assert main(["classify", "train", str(data / "order.csv"), "--out", str(out / "order"),
                 "--hidden", "8", *quiet]) == 0
    assert main(["tag", "train", str(data / "ner.txt"), "--out", str(out / "ner"), "--hidden",
                 "8", "--chars", "none", *quiet]) == 0
    assert main(["translate", "train", str(data / "pairs.tsv"), "--out", str(out / "es-en"),
                 "--hidden", "16", *quiet]) == 0
    return {"lm": out / "poems", "classify": out / "order", "tag": out / "ner",
            "translate": out / "es-en"}


@pytest.fixture(scope="module")
def predictors(runs):
    return load_predictors(list(runs.values()), device="cpu", log=lambda *a: None)


@pytest.fixture(scope="module")
def client(predictors):
    with TestClient(create_app(predictors)) as c:
        yield c


def by_task(predictors, task):
    return next(p for p in predictors if p.task == task)


def events(text: str) -> list:
    """``[(event, data)]`` of a server-sent event stream."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def one_sentence(response) -> str:
    body = response.json()
    assert list(body) == ["error"], body
    message = body["error"]
    assert isinstance(message, str) and 10 < len(message) < 300 and "\n" not in message
    assert "Traceback" not in message
    return message


# ----------------------------------------------------------------------------- endpoints

def test_models_health_and_names(client, runs):
    assert client.get("/health").json() == {"status": "ok"}
    listing = client.get("/v1/models").json()
    models = {m["name"]: m for m in listing["models"]}
    assert models["poems"]["endpoints"] == ["generate", "score"]
    assert models["order"]["labels"] == ["antes", "despues"]
    assert {"O", "B-PER", "B-LOC"} <= set(models["ner"]["tags"])
    assert listing["limits"] == Limits().flags()
    assert unique_names(["a/run", "b/run", "c/run-2", "run"]) == ["run", "run-2", "run-2-2",
                                                                  "run-3"]
    assert client.get("/openapi.json").json()["paths"]["/v1/models/{name}/generate"]


def test_generate_streams_the_library_s_text(client, predictors):
    from recurrente.tasks.lm.inference import generate_batch
    lm = by_task(predictors, "lm")
    r = client.post("/v1/models/poems/generate", json={"prime": "gato ", "length": 60,
                                                       "temperature": 0.8, "seed": 7})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    stream = events(r.text)
    assert [e for e, _ in stream[:-1]] == ["text"] * (len(stream) - 1)
    assert stream[-1][0] == "done"
    done = stream[-1][1]
    assert done["tokens"] == 60 and "".join(d["text"] for _, d in stream[:-1]) == done["text"]
    prime = [int(i) for i in lm.tokenizer.encode("gato ")]
    ids = generate_batch(lm.model, [prime], 60, 0.8, None, None, 7,
                         exclude=[lm.tokenizer.unk_id])[0]
    assert done["full_text"] == lm.tokenizer.decode(ids) == "gato " + done["text"]
    again = events(client.post("/v1/models/poems/generate",
                               json={"prime": "gato ", "length": 60, "temperature": 0.8,
                                     "seed": 7}).text)
    assert again[-1][1]["text"] == done["text"]
    empty = events(client.post("/v1/models/poems/generate", json={"length": 0}).text)
    assert empty == [("done", {**empty[0][1], "tokens": 0, "text": ""})]
    greedy = events(client.post("/v1/models/poems/generate",
                                json={"temperature": 0, "length": 5, "top_k": 10 ** 6}).text)
    assert greedy[-1][1]["tokens"] == 5


def test_score_classify_tag_match_the_library(client, predictors):
    from recurrente.tasks.lm.inference import evaluate_stream
    lm, cls, tag = (by_task(predictors, t) for t in ("lm", "classify", "tag"))
    text = "gato perro casa\nluna gato\n"
    r = client.post("/v1/models/poems/score", json={"text": text}).json()
    expected = evaluate_stream(lm.model, lm.tokenizer.encode(text))
    assert r["perplexity"] == pytest.approx(expected["perplexity"]) and r["tokens"] == len(text) - 1
    texts = ["uno alfa dos beta tres", "beta cuatro alfa"]
    r = client.post("/v1/models/order/classify", json={"texts": texts}).json()["results"]
    for got, want in zip(r, as_dicts(cls.model.predict(texts, top_k=2))):
        assert got["label"] == want["label"]
        assert [(t["label"], t["probability"]) for t in got["top"]] == \
               [(a, pytest.approx(b)) for a, b in want["top"]]
    assert len(client.post("/v1/models/order/classify",
                           json={"text": texts[0], "top_k": 1}).json()["results"][0]["top"]) == 1
    r = client.post("/v1/models/ner/tag", json={"text": SENTENCE, "nbest": 2}).json()
    got, want = r["results"][0], as_dicts(tag.model.predict([SENTENCE], nbest=2))[0]
    assert got["tags"] == want["tags"] and len(got["nbest"]) == 2
    for e in got["entities"]:
        assert SENTENCE[e["char_start"]:e["char_end"]] == e["text"]


def test_translate_with_attention(client, runs, predictors):
    tr = by_task(predictors, "translate")
    assert tr.endpoints == ("translate",)
    plain = client.post("/v1/models/es-en/translate", json={"text": "uno gato", "beam": 3})
    assert plain.status_code == 200, plain.text
    translation = plain.json()["results"][0]["translation"]
    assert translation == tr.model.translate(["uno gato"], beam=3)[0].text
    assert tr.attends  # the default attention: the weights are there to show
    r = client.post("/v1/models/es-en/translate",
                    json={"text": "uno gato", "beam": 3, "attention": True}).json()["results"][0]
    assert r["translation"] == translation and r["source_tokens"] == ["uno", "gato"]
    assert len(r["attention"]) == len(r["output_tokens"]) and r["output_tokens"][-1] == "<eos>"
    for row in r["attention"]:
        assert len(row) == 2 and sum(row) == pytest.approx(1.0, abs=1e-3)


def test_a_task_without_a_serve_part_is_refused_in_one_sentence(runs, monkeypatch, capsys):
    """A run whose task folder has no serve module: ``recurrente serve`` refuses it before
    loading any model, in one sentence that names the tasks it can serve."""
    from recurrente.tasks import registry
    from recurrente.tasks.base import TaskSpec
    part = TaskSpec.part
    monkeypatch.setattr(TaskSpec, "part", lambda spec, name, required=False: None if (
        spec.name, name) == ("translate", "serve") else part(spec, name, required))
    loaded = []
    monkeypatch.setattr("recurrente.train.run.load_run", lambda *a, **k: loaded.append(a))
    with pytest.raises(UserError) as refused:
        load_predictors([runs["classify"], runs["translate"]], log=lambda *a: None)
    message = str(refused.value)
    assert message.startswith(f"{runs['translate']} is a translator run") and \
        "cannot serve" in message and "\n" not in message and loaded == []
    served = [n for n in registry.names() if n != "translate"]
    assert message.endswith(f"it serves {', '.join(served)}")
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    assert main(["serve", str(runs["translate"])]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"


def test_a_loading_bug_is_raised_not_hidden(runs, monkeypatch):
    """A task's predictor that fails to load is a bug to see, not a model to list quietly."""
    from recurrente.tasks.classify.serve import PREDICTOR

    def broken(self, name, run):
        raise AttributeError("the model lost its vocabularies")
    monkeypatch.setattr(PREDICTOR, "__init__", broken)
    with pytest.raises(AttributeError, match="lost its vocabularies"):
        load_predictors([runs["lm"], runs["classify"]], log=lambda *a: None)


def test_routes_come_from_the_tasks(predictors, client):
    """One route per endpoint of the loaded tasks; the page holds each task's panel once."""
    from recurrente.serve.app import endpoints_of
    routes = endpoints_of(predictors)
    assert list(routes) == ["generate", "score", "classify", "tag", "translate"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"/v1/models/{{name}}/{e}" for e in routes} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200
    for task in ("lm", "classify", "tag", "translate"):
        assert page.text.count(f'builders["{task}"] = ') == 1
    only = [p for p in predictors if p.task == "classify"]
    with TestClient(create_app(only)) as c:
        assert "/v1/models/{name}/generate" not in c.get("/openapi.json").json()["paths"]
        assert 'builders["lm"]' not in c.get("/").text
        r = c.post("/v1/models/order/generate", json={})
        assert r.status_code == 404 and "answers classify, not 'generate'" in one_sentence(r)
        r = c.post("/v1/models/order/gen%0Aerate" + "x" * 100, json={})
        assert r.status_code == 404 and "not 'gen\\nerate" in one_sentence(r)
        r = c.post("/v1/models/nobody/generate", json={})
        assert r.status_code == 404 and "no model named 'nobody'" in one_sentence(r)


# ----------------------------------------------------------------------------- bad requests

BIG = 70_000
SWEEP = [  # (path, body (dict, or raw bytes), status)
    ("/v1/models/order/classify", b"{", 400),
    ("/v1/models/order/classify", b'{"text": "a",}', 400),
    ("/v1/models/order/classify", b"[1, 2]", 400),
    ("/v1/models/order/classify", b'"text"', 400),
    ("/v1/models/order/classify", b"", 400),
    ("/v1/models/order/classify", b"\xff\xfe", 400),
    ("/v1/models/order/classify", {"text": 5}, 422),
    ("/v1/models/order/classify", {"texts": "not a list"}, 422),
    ("/v1/models/order/classify", {"texts": ["a", 3]}, 422),
    ("/v1/models/order/classify", {"texts": []}, 422),
    ("/v1/models/order/classify", {"texts": ["a"] * 33}, 422),
    ("/v1/models/order/classify", {}, 422),
    ("/v1/models/order/classify", {"text": "a", "texts": ["b"]}, 422),
    ("/v1/models/order/classify", {"txt": "a"}, 422),
    ("/v1/models/order/classify", {"text": "a" * 4001}, 422),
    ("/v1/models/order/classify", {"text": "a", "top_k": 0}, 422),
    ("/v1/models/order/classify", {"text": "a" * BIG}, 413),
    ("/v1/models/poems/score", {}, 422),
    ("/v1/models/poems/score", {"text": "g"}, 422),
    ("/v1/models/poems/score", {"text": None}, 422),
    ("/v1/models/poems/generate", {"length": -1}, 422),
    ("/v1/models/poems/generate", {"length": 10 ** 30}, 422),
    ("/v1/models/poems/generate", {"length": 2001}, 422),
    ("/v1/models/poems/generate", {"length": "5"}, 422),
    ("/v1/models/poems/generate", {"length": 5.5}, 422),
    ("/v1/models/poems/generate", {"length": True}, 422),
    ("/v1/models/poems/generate", {"temperature": -1}, 422),
    ("/v1/models/poems/generate", b'{"temperature": NaN}', 422),
    ("/v1/models/poems/generate", b'{"temperature": Infinity}', 422),
    ("/v1/models/poems/generate", {"top_p": 1.5}, 422),
    ("/v1/models/poems/generate", {"top_k": 0}, 422),
    ("/v1/models/poems/generate", {"seed": -1}, 422),
    ("/v1/models/poems/generate", {"seed": 2 ** 80}, 422),
    ("/v1/models/poems/generate", {"prime": "\u2603 snow"}, 422),
    ("/v1/models/poems/generate", {"prime": ["gato"]}, 422),
    ("/v1/models/ner/tag", {"text": "a", "nbest": 0}, 422),
    ("/v1/models/ner/tag", {"text": "a", "nbest": 10 ** 6}, 422),
    ("/v1/models/poems/classify", {"text": "a"}, 404),
    ("/v1/models/order/generate", {}, 404),
    ("/v1/models/nobody/classify", {"text": "a"}, 404),
    ("/v1/models/..%2F..%2Fetc%2Fpasswd/classify", {"text": "a"}, 404),
    ("/v1/models/%2e%2e/classify", {"text": "a"}, 404),
    ("/v1/models/%2e%2e%2fpoems/generate", {}, 404),
    ("/v1/models/..%5Cpoems/generate", {}, 404),
    ("/v1/models/poems%00/generate", {}, 404),
    ("/v1/models/../poems/generate", {}, 404),
    ("/v1/models/" + "x" * 3000 + "/classify", {"text": "a"}, 404),
    ("/v1/nothing", {}, 404),
]


def test_bad_request_sweep(client, runs):
    before = snapshot(runs)
    for path, body, status in SWEEP:
        if isinstance(body, bytes):
            r = client.post(path, content=body, headers={"Content-Type": "application/json"})
        else:
            r = client.post(path, json=body)
        assert r.status_code == status, (path, body if len(str(body)) < 200 else "...", r.text)
        one_sentence(r)
        assert client.get("/health").status_code == 200
    r = client.get("/v1/models/poems/generate")
    assert r.status_code == 405 and "not allowed" in one_sentence(r)
    chunked = client.post("/v1/models/order/classify", content=iter([b'{"text": "'] +
                          [b"a" * 8192] * 10 + [b'"}']), headers={"Content-Type":
                                                                  "application/json"})
    assert chunked.status_code == 413 and "--max-body" in one_sentence(chunked)
    assert client.post("/v1/models/order/classify", json={"text": "alfa beta"}).status_code == 200
    assert snapshot(runs) == before  # the server wrote nothing


def snapshot(runs) -> dict:
    """Every file of the run directories and its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for run in runs.values()
            for p in sorted(Path(run).rglob("*"))}


def test_api_key(predictors, monkeypatch):
    with TestClient(create_app(predictors, api_key="s3cret")) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in one_sentence(r)
        r = c.post("/v1/models/order/classify", json={"text": "a"},
                   headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401 and "wrong key" in one_sentence(r)
        huge = c.post("/v1/models/order/classify", content=b"x" * BIG)
        assert huge.status_code == 401  # refused before the body is read
        assert c.post("/v1/models/order/classify", json={"text": "alfa"},
                      headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/health").status_code == 200 and c.get("/").status_code == 200
    from recurrente.cli import serve_cmd
    monkeypatch.setenv("RECURRENTE_API_KEY", "from-env")
    seen = {}
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    assert main(["serve", str(predictors[0].run.directory), "--port", "0"]) == 0
    assert seen["host"] == "127.0.0.1" and seen["port"] == 0
    key = {"Authorization": "Bearer from-env"}
    with TestClient(seen["app"], base_url="http://127.0.0.1:8000") as c:
        assert c.get("/v1/models").status_code == 401
        assert c.get("/v1/models", headers=key).status_code == 200
        # on loopback only loopback Host headers: no DNS rebinding from a web page
        r = c.get("/v1/models", headers={**key, "Host": "evil.example:8000"})
        assert r.status_code == 400 and "Host header" in one_sentence(r)
        assert c.get("/health", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/health", headers={"Host": "[::1]:8000"}).status_code == 200
    assert serve_cmd.ENV_KEY == "RECURRENTE_API_KEY"


def test_a_crash_is_one_sentence_too(predictors, monkeypatch):
    cls = by_task(predictors, "classify")
    monkeypatch.setattr(cls, "classify", lambda *a: 1 / 0)
    with TestClient(create_app(predictors), raise_server_exceptions=False) as c:
        r = c.post("/v1/models/order/classify", json={"text": "alfa"})
        assert r.status_code == 500 and "ZeroDivisionError" in one_sentence(r)
        assert c.get("/health").status_code == 200


def test_cli_errors(capsys, monkeypatch, runs, tmp_path):
    import sys
    import uvicorn
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["serve", str(runs["classify"]), "--max-tokens", "0"]) == 2
    assert "--max-tokens: expected an integer from 1" in capsys.readouterr().err
    assert main(["serve", str(runs["classify"]), "--host", "0.0.0.0"]) == 0
    assert "without --api-key" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["serve", str(runs["classify"])]) == 2
    assert "pip install 'recurrente[serve]'" in capsys.readouterr().err


# ----------------------------------------------------------------------------- concurrency

def stream_text(url: str, body: dict, marks: list = None) -> str:
    client = Client(url)
    status, _, _ = client.call("POST", "/v1/models/poems/generate", body)
    assert status == 200
    stream = events(client.payload.decode())
    client.close()
    assert stream[-1][0] == "done", stream[-1]
    return stream[-1][1]["text"]


def test_concurrent_generations_keep_their_own_state(predictors):
    bodies = [{"prime": "gato ", "length": 400, "temperature": 1.0, "seed": s} for s in (1, 2)]
    with serving(create_app(predictors)) as url:
        alone = [stream_text(url, b) for b in bodies]
        together, spans = [None, None], [None, None]

        def one(i):
            started = time.perf_counter()
            together[i] = stream_text(url, bodies[i])
            spans[i] = (started, time.perf_counter())
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert together == alone and alone[0] != alone[1]
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1]  # they overlapped


class Slow(Predictor):
    """A model that takes ``seconds`` per call (score) or per chunk (generate)."""
    task, routes = "lm", LM_ROUTES

    def __init__(self, seconds: float):
        super().__init__("slow")
        self.seconds, self.title = seconds, "slow model"

    def score(self, text):
        time.sleep(self.seconds)
        return {"perplexity": 1.0}

    def start(self, prime, length, *args):
        slow = self

        class Gen:
            done, new = False, []

            def advance(self, max_seconds):
                time.sleep(slow.seconds)
                self.new.append(0)
                self.done = len(self.new) >= length
                return "x"

            def text(self):
                return "x" * len(self.new)
            full_text = text
        return Gen()


def test_slow_work_never_blocks_health_and_limits_hold():
    limits = Limits(max_seconds=0.6, max_queue=1)
    with serving(create_app([Slow(0.25)], limits)) as url:
        results = {}

        def call(key, path, body):
            results[key] = Client(url).call("POST", path, body)
        slow = [threading.Thread(target=call, args=(k, "/v1/models/slow/score", {"text": "a"}))
                for k in range(3)]
        for t in slow:
            t.start()
        time.sleep(0.05)
        health = [Client(url).call("GET", "/health") for _ in range(5)]
        for t in slow:
            t.join()
        assert all(status == 200 and seconds < 0.2 for status, seconds, _ in health), health
        statuses = sorted(r[0] for r in results.values())
        assert statuses[0] == 200 and 503 in statuses, statuses  # one runs, one waits, one full
        # generation past the time limit: the stream ends with an error event
        client = Client(url)
        status, seconds, detail = client.call("POST", "/v1/models/slow/generate",
                                              {"length": 100})
        assert status == 200 and detail == "error" and seconds < 1.5
        error = events(client.payload.decode())[-1][1]
        assert error["status"] == 408 and "--max-seconds" in error["error"]
    # one call past the time limit: 408 at once, the model freed when its work ends
    with serving(create_app([Slow(0.3)], Limits(max_seconds=0.1))) as url:
        client = Client(url)
        status, seconds, _ = client.call("POST", "/v1/models/slow/score", {"text": "a"})
        assert status == 408 and seconds < 0.3 and "--max-seconds" in client.payload.decode()
        assert client.call("GET", "/health")[0] == 200


def test_bounded_load(predictors):
    with serving(create_app(predictors)) as url:
        result = run_load(url, clients=8, requests=160, time_limit=60, seed=1,
                          texts={"prime": [None, "gato "], "score": ["gato perro\n"],
                                 "translate": ["uno gato", "dos perro luna"]})
    assert result["sent"] == result["answered"] == result["as_expected"] == 160, \
        result["failures"]
    assert result["healthy_after"] and result["latency"]["p99_ms"] < 10_000


# ----------------------------------------------------------------------------- the page

@pytest.mark.skipif(chromium_path() is None, reason="no Chromium (apt-get install -y chromium); "
                                                    "cannot check the page in a browser")
def test_page_in_headless_chromium(predictors, client, runs, tmp_path):
    import os
    expected_label = client.post("/v1/models/order/classify",
                                 json={"text": "uno alfa dos beta"}).json()["results"][0]
    expected_tags = client.post("/v1/models/ner/tag", json={"text": SENTENCE}).json()
    entities = expected_tags["results"][0]["entities"]
    with serving(create_app(predictors)) as url, Browser.launch() as browser:
        page = browser.page()
        page.goto(url + "/")
        page.wait_for("document.getElementById('panels').dataset.loaded === '1'")
        tasks = page.evaluate("[...document.querySelectorAll('.panel')]"
                              ".map(p => p.dataset.task)")
        assert sorted(tasks) == sorted(runs)
        page.type("[data-task=classify] input.input", "uno alfa dos beta")
        page.click("[data-task=classify] button.run")
        label = page.wait_for("document.querySelector('[data-task=classify] .bars')"
                              ".dataset.label")
        assert label == expected_label["label"]
        bars = page.evaluate("[...document.querySelectorAll('[data-task=classify] .bar')]"
                             ".map(b => b.textContent)")
        assert bars[0] == f"{label}{100 * expected_label['probability']:.1f}%"
        page.type("[data-task=tag] input.input", SENTENCE)
        page.click("[data-task=tag] button.run")
        page.wait_for("document.querySelector('[data-task=tag] .result').dataset.entities")
        marks = page.evaluate("[...document.querySelectorAll('[data-task=tag] mark')]"
                              ".map(m => [m.dataset.type, m.firstChild.textContent])")
        assert marks == [[e["type"], e["text"]] for e in entities]
        shown, at = "", 0  # the sentence, each entity followed by its type's label
        for e in entities:
            shown += SENTENCE[at:e["char_end"]] + e["type"]
            at = e["char_end"]
        assert page.text("[data-task=tag] .tagged") == shown + SENTENCE[at:]
        page.type("[data-task=lm] textarea", "gato ")
        page.click("[data-task=lm] button.run")
        status = page.wait_for("(s => s.includes('tokens/s') && s)(document.querySelector("
                               "'[data-task=lm] .status').textContent)")
        assert status.startswith("200 tokens")
        assert page.text("[data-task=lm] pre").startswith("gato ")
        page.type("[data-task=translate] input.input", "uno gato")
        page.click("[data-task=translate] button.run")
        page.wait_for("document.querySelector('[data-task=translate] .translation') "
                      "!== null")
        shot = page.screenshot(os.environ.get("RECURRENTE_SERVE_SCREENSHOT") or
                               tmp_path / "page.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert page.evaluate("document.getElementById('health').className") == "ok"
