"""Bad input never gets a traceback, a 500, an endless run or a leftover file (issue 22).

Property-based (Hypothesis) sweeps, each example a refusal that must be one sentence:

- every numeric option of every command, found by walking the parser (a flag added later is
  swept too), given values outside its range: NaN, infinities, negative, zero, huge, of the
  wrong type, unencodable text; exit status 2, one ``error:`` line, nothing written;
- values that are in range but wrong for the command or the run (``--nbest`` over ``--beam``,
  a line over ``--max-len`` tokens or ``--max-chars`` characters, a layer the model lacks,
  unknown choices, a prime the model cannot read, a file that is not UTF-8);
- every field of every endpoint of the server: 4xx with ``{"error": sentence}``, never a 500;
  plus HEAD where GET is, a lone surrogate to every text field (the 500s of the issue), and an
  HTTP request uvicorn's parser refuses, answered in JSON by a real server.

Tiny runs of every task are trained once for the module (about 5 s); the sweeps run in-process.
"""

import contextlib
import io
import json
import os
import socket
import time
import warnings
from pathlib import Path
from unittest import mock

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (the dev extra) is missing")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from recurrente.cli.checks import Number, numeric_actions  # noqa: E402
from recurrente.cli.main import build_parser, main  # noqa: E402

SWEEP = settings(max_examples=4, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = settings(SWEEP, max_examples=6)
NATIVE = ["--implementation", "native", "--quiet", "--max-steps", "1"]


# ----------------------------------------------------------------------------- fixtures

def sweeps() -> dict:
    """task name -> its ``tests/tasks/<folder>/sweep.py`` (data, tiny run, command lines): a new
    task's folder of tests brings its part of the sweep."""
    import importlib
    from recurrente.tasks import registry
    return {name: importlib.import_module(
        f"tests.tasks.{registry.task(name).package.rsplit('.', 1)[1]}.sweep")
        for name in registry.names()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Data, one tiny run per task, and an empty workspace (the commands' cwd)."""
    data = tmp_path_factory.mktemp("data")
    files = {"lines": data / "lines.txt"}
    files["lines"].write_text("a b c d e f\nb c\n")
    for sweep in sweeps().values():
        files.update(sweep.data(data))
    runs = tmp_path_factory.mktemp("runs")
    for name, sweep in sweeps().items():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            argv = sweep.train(files) + ["--out", runs / name, *NATIVE]
            assert main([str(a) for a in argv]) == 0
    work = tmp_path_factory.mktemp("work")
    return {"files": files, "runs": {n: runs / n for n in sweeps()}, "work": work,
            "watched": [runs, data, work]}


@contextlib.contextmanager
def working_directory(path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _tree(roots) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for root in roots
            for p in Path(root).rglob("*")}


def call(world, argv) -> tuple:
    """``main(argv)`` in the workspace: ``(status, stdout, stderr)``; asserts that nothing under
    the data, the runs or the workspace changed. Starting a server or torchrun fails the test
    instead (a bad value that got through must not hang it)."""
    before = _tree(world["watched"])
    out, err = io.StringIO(), io.StringIO()
    refuse = AssertionError("a refused command went on to start a server or processes")
    with working_directory(world["work"]), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err), \
            mock.patch("recurrente.cli.launch.launch", side_effect=refuse), \
            mock.patch("uvicorn.run", side_effect=refuse):
        code = main([str(a) for a in argv])
    assert _tree(world["watched"]) == before, f"{argv} wrote or changed files"
    return code, out.getvalue(), err.getvalue()


def refused(world, argv) -> str:
    """The one sentence with which ``argv`` is refused (status 2, nothing written)."""
    code, _, err = call(world, argv)
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


# ----------------------------------------------------------------------------- every numeric option

def base_commands(world) -> dict:
    """A command line that would do real work for each command with numeric options, so an
    option value that got through would show (a file written, status 0, a server started)."""
    f, r, w = world["files"], world["runs"], world["work"]
    out = ["--out", w / "new", "--max-steps", "1", "--quiet"]
    tasks = {}
    for name, sweep in sweeps().items():
        tasks.update(sweep.commands(f, r[name], w, out))
    return {
        **tasks,
        ("predict",): ["predict", r["classify"], f["lines"]],
        ("sample",): ["sample", r["lm"], "-n", "3"],
        ("export",): ["export", r["classify"], "--out", w / "exported"],
        ("serve",): ["serve", r["classify"], "--port", "0"],
        ("lab",): ["lab", "adding", "--T", "5", "--cells", "rnn", "--time-budget", "0",
                   "--max-steps", "1", "--out", w / "lab"],
        ("inspect",): ["inspect", r["lm"], "--text", f["corpus"], "--html", w / "page.html"],
        ("diagnose",): ["diagnose", r["lm"], "--out", w / "diagnostics"],
        ("check",): ["check", "--no-cuda", "--quiet"],
    }


NUMERIC = [(words, max(a.option_strings, key=len), a.type)
           for words, a in numeric_actions(build_parser())]
GARBAGE = ["", "abc", "nan", "NaN", "-nan", "inf", "-inf", "+Infinity", "1e999", "-1e999",
           "0x1A", "1,5", "½", "1e", "--", "\udcff", "\ud800", "None", "[1]"]


def outside(kind: Number):
    """Texts of values ``kind`` refuses: garbage, non-finite, below, above, wrong type."""
    options = [st.sampled_from(GARBAGE)]
    if kind.kind is int:
        options.append(st.floats(allow_nan=False, allow_infinity=False)
                       .filter(lambda x: not x.is_integer()).map(repr))
        options.append(st.integers(max_value=kind.low - 1).map(str))
        options.append(st.integers(min_value=kind.high + 1).map(str))
        options.append(st.just(str(10 ** 40)))
    else:
        if kind.low is not None:
            options.append(st.floats(max_value=kind.low, exclude_max=not kind.low_open)
                           .map(repr))
        if kind.high is not None:
            options.append(st.floats(min_value=kind.high, exclude_min=not kind.high_open)
                           .map(repr))
    return st.one_of(options)


def test_every_numeric_option_has_a_range_and_says_it():
    bare = [(words, flag) for words, flag, kind in NUMERIC if not isinstance(kind, Number)]
    assert not bare, f"numeric options without a range (recurrente.cli.checks): {bare}"
    parser_help = {}
    for words, action in numeric_actions(build_parser()):
        parser_help[(words, max(action.option_strings, key=len))] = action.help
    for (words, flag), text in parser_help.items():
        kind = next(k for w, f, k in NUMERIC if (w, f) == (words, flag))
        assert kind.describe() in text, (words, flag, text)
    assert len(NUMERIC) > 100  # every command's, not a few


@pytest.mark.parametrize("words, flag, kind", NUMERIC,
                         ids=[" ".join(w) + " " + f for w, f, _ in NUMERIC])
def test_bad_numbers_are_refused_before_anything_runs(world, words, flag, kind):
    base = base_commands(world)
    assert words in base, f"add a command line for {' '.join(words)} to base_commands"

    @SWEEP
    @given(value=outside(kind))
    def sweep(value):
        err = refused(world, [*base[words], f"{flag}={value}"])
        assert flag in err and "expected" in err, err
    sweep()


# ----------------------------------------------------------------------------- in range, wrong here

def _metrics() -> tuple:
    from recurrente.tasks import registry
    return ("",) + tuple(m for t in registry.names()
                         for m in registry.task(t).metrics)  # "": the task's default


CHOICES = {"--optimizer": ("adamw", "adam", "sgd", "adadelta"),
           "--schedule": ("cosine", "wsd", "plateau", "constant"),
           "--precision": ("fp32", "bf16"), "--monitor": _metrics(),
           "--average": ("nt", "none"), "--device": ("auto", "cpu"),
           "--cell": ("lstm", "gru", "rnn")}
TRAIN_TASKS = [("train",) if n == "lm" else (n, "train") for n in sweeps()]


@FEW
@given(task=st.sampled_from(TRAIN_TASKS), flag=st.sampled_from(sorted(CHOICES)),
       value=st.text(max_size=8))
def test_a_refused_train_leaves_no_run_folder(world, task, flag, value):
    hypothesis.assume(value not in CHOICES[flag] and not value.startswith("cuda"))
    hypothesis.assume(value not in ("mingru", "minlstm"))  # the LM and classifier take them
    hypothesis.assume(flag != "--average" or not _fraction(value))
    hypothesis.assume(flag != "--precision" or value != "fp16")  # refused too, for lack of CUDA
    refused(world, [*base_commands(world)[task], f"{flag}={value}"])
    assert not (world["work"] / "new").exists()


@pytest.mark.parametrize("task", TRAIN_TASKS, ids=" ".join)
def test_a_cell_no_task_has_is_one_sentence_naming_the_cells(world, task):
    """Every task takes every cell (lstm, gru, rnn, mingru, minlstm); an unknown one is one
    sentence that names them all."""
    message = refused(world, [*base_commands(world)[task], "--cell", "foo"])
    assert "--cell" in message and all(c in message for c in ("lstm", "mingru", "minlstm"))
    assert not (world["work"] / "new").exists()


@pytest.mark.parametrize("flag, value", [("--precision", "fp16"), ("--device", "cuda")])
@pytest.mark.parametrize("task", TRAIN_TASKS, ids=" ".join)
def test_a_train_this_machine_refuses_leaves_no_run_folder(world, task, flag, value):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: fp16 and cuda are valid here")
    assert "CUDA" in refused(world, [*base_commands(world)[task], flag, value])
    assert not (world["work"] / "new").exists()


def _fraction(value: str) -> bool:
    try:
        return 0 <= float(value) < 1
    except ValueError:
        return False


@FEW
@given(beam=st.integers(1, 8), extra=st.integers(1, 200))
def test_nbest_over_the_beam_is_refused(world, beam, extra):
    f, r = world["files"], world["runs"]
    err = refused(world, ["translate", "predict", r["translate"], f["lines"], "--beam", beam,
                          "--nbest", min(256, beam + extra)])
    assert "--nbest" in err


@FEW
@given(task=st.sampled_from(["tag", "translate"]), limit=st.integers(1, 5))
def test_a_sentence_over_max_len_tokens_is_refused_with_its_line(world, task, limit):
    err = refused(world, [task, "predict", world["runs"][task], world["files"]["lines"],
                          "--max-len", limit])  # line 1 has 6 tokens
    assert "line 1 has 6 tokens" in err and "--max-len" in err


@FEW
@given(task=st.sampled_from(["classify", "tag", "translate"]), limit=st.integers(1, 10))
def test_a_line_over_max_chars_is_refused_without_reading_it_all(world, task, limit):
    err = refused(world, [task, "predict", world["runs"][task], world["files"]["lines"],
                          "--max-chars", limit])  # line 1 has 11 characters
    assert "line 1 " in err and "--max-chars" in err


def test_tag_predict_limits_a_huge_line(world, tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_text("Pako " * 300000 + "\n")  # 1.5 MB, one line
    started = time.perf_counter()
    err = refused(world, ["tag", "predict", world["runs"]["tag"], huge])
    assert "--max-chars" in err and time.perf_counter() - started < 5
    long = tmp_path / "long.txt"
    long.write_text("Pako " * 2000 + "\n")  # 10 kB: under --max-chars, over --max-len
    err = refused(world, ["tag", "predict", world["runs"]["tag"], long])
    assert "2,000 tokens, over the limit of 1,000 (--max-len)" in err


@FEW
@given(layer=st.integers(1, 63))
def test_a_layer_the_model_lacks_is_refused(world, layer):
    refused(world, ["inspect", world["runs"]["lm"], "--text", world["files"]["corpus"],
                    "--layer", layer, "--html", world["work"] / "p.html"])


@FEW
@given(prime=st.builds(lambda a, s, b: a + s + b, st.text(max_size=3),
                       st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                       st.text(max_size=3)))
def test_an_unencodable_prime_is_refused(world, prime):
    refused(world, ["sample", world["runs"]["lm"], "--prime", prime, "-n", "3"])


@FEW
@given(task=st.sampled_from(["classify", "tag", "translate"]),
       junk=st.sampled_from([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80abc"]))
def test_input_that_is_not_utf8_is_refused(world, tmp_path_factory, task, junk):
    path = tmp_path_factory.mktemp("junk") / "in.txt"
    path.write_bytes(b"a b\n" + junk + b"\n")
    assert "not valid utf-8" in refused(world, [task, "predict", world["runs"][task], path])


@FEW
@given(T=st.one_of(st.integers(max_value=0), st.integers(min_value=10001)).map(str)
       | st.sampled_from(["a", "5,b", ",", "1.5", "nan"]))
def test_lab_refuses_bad_lengths_and_a_zero_budget_alone(world, T):
    refused(world, ["lab", "adding", "--T", T, "--max-steps", "1", "--out",
                    world["work"] / "lab"])
    refused(world, ["lab", "copy", "--time-budget", "0", "--out", world["work"] / "lab"])


def test_the_translation_length_has_a_hard_cap(world):
    from recurrente.tasks.seq2seq.inference import output_cap
    from recurrente.tasks.seq2seq.model import Seq2Seq
    model = Seq2Seq.load(world["runs"]["translate"])
    asked = []
    real = model.generate

    def recording(src, lengths, max_len, **kw):
        asked.extend(max_len)
        return real(src, lengths, max_len, **kw)
    model.generate = recording
    model.translate(["a b c d", "a"], max_len_a=100.0, max_len_b=10000.0)
    cap = output_cap(model)
    assert cap == 2 * model.max_len + 10 and asked and max(asked) == cap
    asked.clear()
    model.translate(["a b c d e f g h"], max_len=200, max_len_a=100.0, max_len_b=10000.0)
    assert max(asked) == 2 * 200 + 10
    asked.clear()
    model.translate(["a b c"])  # the defaults, under the cap: round(1.5 · 3 + 10)
    assert asked == [15]


# ----------------------------------------------------------------------------- the server

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="httpx (FastAPI's TestClient) is not installed")
with warnings.catch_warnings():  # starlette's notice about httpx's successor
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from recurrente.serve.app import create_app  # noqa: E402
from recurrente.serve.limits import Limits  # noqa: E402
from recurrente.serve.predictors import load_predictors  # noqa: E402

LIMITS = Limits(max_chars=64, max_texts=4, max_tokens=50, max_beam=4)


@pytest.fixture(scope="module")
def client(world):
    predictors = load_predictors(list(world["runs"].values()), log=lambda *a: None)
    with TestClient(create_app(predictors, LIMITS)) as c:
        yield c


def one_sentence(response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    assert body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


NAN, INF = float("nan"), float("inf")
SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
NOT_STRING = st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.integers(),
                       max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                    max_size=1))
BAD_STRING = st.one_of(
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), SURROGATE, st.text(max_size=5)),
    st.text(min_size=LIMITS.max_chars + 1, max_size=LIMITS.max_chars + 8))
BAD_TEXT = BAD_STRING | NOT_STRING
BAD_TEXTS = st.one_of(
    st.lists(st.text(max_size=4), max_size=2).flatmap(
        lambda good: BAD_TEXT.map(lambda bad: good + [bad])),
    st.just([]), st.lists(st.just("a"), min_size=LIMITS.max_texts + 1, max_size=8),
    st.text(max_size=4), st.integers(), st.none() | st.booleans())
NOT_INT = st.one_of(st.floats(), st.text(max_size=4), st.booleans(),
                    st.lists(st.integers(), max_size=2))
NOT_FLOAT = st.one_of(st.text(max_size=4), st.booleans(), st.lists(st.floats(), max_size=2))
NON_FINITE = st.sampled_from([NAN, INF, -INF])
NOT_BOOL = st.one_of(st.integers(), st.text(max_size=4), st.none(), st.floats())
ENDPOINTS = {  # endpoint: (model, a valid body, {field: values it refuses})
    "generate": ("lm", {"prime": "gato", "length": 3}, {
        "prime": BAD_STRING | NOT_STRING.filter(lambda v: v is not None),
        "length": st.integers(max_value=-1) | st.integers(min_value=LIMITS.max_tokens + 1)
        | NOT_INT,
        "temperature": st.floats(max_value=0, exclude_max=True) | NON_FINITE | NOT_FLOAT
        | st.none(),
        "top_k": st.integers(max_value=0) | NOT_INT,
        "top_p": st.floats(max_value=0) | st.floats(min_value=1, exclude_min=True)
        | NON_FINITE | NOT_FLOAT,
        "seed": st.integers(max_value=-1) | st.integers(min_value=2 ** 63) | NOT_INT}),
    "score": ("lm", {"text": "gato perro"}, {"text": BAD_TEXT | st.none()
                                             | st.sampled_from(["", "g"])}),
    "classify": ("classify", {"text": "w1 alfa"}, {
        "text": BAD_TEXT, "texts": BAD_TEXTS, "top_k": st.integers(max_value=0) | NOT_INT}),
    "tag": ("tag", {"text": "ayer Pako dijo"}, {
        "text": BAD_TEXT, "texts": BAD_TEXTS,
        "nbest": st.integers(max_value=0) | st.integers(min_value=LIMITS.max_beam + 1)
        | NOT_INT}),
    "translate": ("translate", {"text": "a b c", "attention": True}, {
        "text": BAD_TEXT, "texts": BAD_TEXTS,
        "beam": st.integers(max_value=0) | st.integers(min_value=LIMITS.max_beam + 1) | NOT_INT,
        "attention": NOT_BOOL, "bogus": st.integers()}),
}
FIELDS = [(e, f) for e, (_, _, fields) in ENDPOINTS.items() for f in fields]


@pytest.mark.parametrize("endpoint, field", FIELDS, ids=[f"{e}.{f}" for e, f in FIELDS])
def test_every_field_of_every_endpoint_refuses_bad_values(world, client, endpoint, field):
    model, valid, fields = ENDPOINTS[endpoint]
    url = f"/v1/models/{model}/{endpoint}"

    @settings(SWEEP, max_examples=8)
    @given(value=fields[field])
    def sweep(value):
        body = {k: v for k, v in valid.items() if not (field == "texts" and k == "text")}
        body[field] = value
        before = _tree(world["watched"])
        response = client.post(url, content=json.dumps(body),  # NaN, Infinity, \ud800 escapes
                               headers={"content-type": "application/json"})
        one_sentence(response)
        assert _tree(world["watched"]) == before
    sweep()


@pytest.mark.parametrize("endpoint, body", [
    ("tag", {"text": "uno \ud800 dos"}),  # the 500s
    ("translate", {"text": "uno \ud800 dos", "attention": True}),
    ("translate", {"texts": ["a", "b \udfff"]}),
    ("classify", {"text": "\ud83d sin pareja"}),
    ("score", {"text": "gato \udc00 perro"}),
    ("generate", {"prime": "ga\ud800to"}),
])
def test_a_lone_surrogate_gets_the_same_422_from_every_endpoint(client, endpoint, body):
    model = ENDPOINTS[endpoint][0]
    response = client.post(f"/v1/models/{model}/{endpoint}", content=json.dumps(body),
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "lone surrogate" in one_sentence(response)


def test_a_surrogate_pair_is_one_character_and_fine(client):
    body = json.dumps({"text": "uno \ud83d\ude00 dos"})
    response = client.post("/v1/models/tag/tag", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 200 and "\U0001f600" in response.json()["results"][0]["tokens"]


def test_head_is_answered_wherever_get_is(client):
    from starlette.routing import Route
    app = client.app
    while not hasattr(app, "routes"):  # the middleware around the FastAPI app
        app = app.app
    paths = [r.path for r in app.routes if isinstance(r, Route) and "GET" in (r.methods or ())
             and "{" not in r.path]
    assert {"/", "/health", "/v1/models", "/openapi.json", "/docs"} <= set(paths)
    for path in paths:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == \
            get.headers["content-type"], path
        assert head.headers.get("content-length") == get.headers.get("content-length"), path
    assert client.head("/v1/models/tag/tag").status_code == 405  # a POST route
    assert client.head("/nowhere").status_code == 404
    refused = client.get("/v1/models/tag/tag")  # GET on it: the sentence names the method
    assert "GET is not allowed" in one_sentence(refused)


@pytest.fixture(scope="module")
def live_server(world):
    """A real uvicorn on a free loopback port, with the protocol ``recurrente serve`` uses."""
    from recurrente.serve.background import serving
    predictors = load_predictors([world["runs"]["classify"]], log=lambda *a: None)
    with serving(create_app(predictors, LIMITS), log_level="critical") as url:
        host, port = url.rsplit("//", 1)[1].split(":")
        yield host, int(port)


def _raw(address, request: bytes) -> tuple:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    return status, {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("request_bytes", [
    b"POST /v1/models/classify/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Length: abc\r\n\r\n{}",
    b"POST /v1/models/classify/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Length: -5\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"\x00\x01 nonsense\r\n\r\n",
], ids=["letters", "negative", "two-lengths", "request-line"])
def test_http_the_parser_refuses_gets_a_json_sentence(live_server, request_bytes):
    status, headers, body = _raw(live_server, request_bytes)
    assert status == 400 and headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    message = json.loads(body)["error"]
    assert "not valid HTTP" in message and "\n" not in message
    status, _, body = _raw(live_server, b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                        b"Connection: close\r\n\r\n")
    assert status == 200 and body == b""  # and the server goes on answering
