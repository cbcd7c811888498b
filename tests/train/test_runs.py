"""The plumbing every task shares: strict resume (every flag), restarting a run killed before
its first checkpoint, lazy imports, the monitored metric and its direction,
the plain progress lines, and a trainer that leaves the global random stream alone."""

import argparse
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from recurrente.cli.main import build_parser, main
from recurrente.errors import UserError
from recurrente.tasks.base import Task
from recurrente.train.callbacks import Checkpointer, ProgressBar
from recurrente.train.run import load_run
from recurrente.train.config import CHANGEABLE_ON_RESUME, TrainConfig
from recurrente.train.trainer import Trainer
from tests.lm_fixtures import word_corpus
from tests.tag_fixtures import entity_sentences, write_conll
from tests.classify_fixtures import order_examples, write_csv
from tests.translate_fixtures import reverse_pairs, write_tsv

ROOT = Path(__file__).parents[2]
LM_TINY = ["--preset", "tiny", "--hidden", "16", "--seq-len", "16", "--batch-size", "8",
           "--quiet"]
CLS_TINY = ["--hidden", "8", "--quiet"]
TAG_TINY = ["--hidden", "8", "--quiet"]
TRANSLATE_TINY = ["--hidden", "8", "--quiet"]
# --nproc launches the processes of a run, like --quiet it is not one of its options: the world
# size is in the checkpoint, and a resume may change it (tests/train/test_distributed.py)
NOT_OPTIONS = {"--out", "--resume", "--quiet", "--json", "--help", "--preset", "--nproc"}


def _error(capsys, argv) -> str:
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, (code, captured.out, captured.err)
    err = captured.err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def corpus(folder):
    path = folder / "words.txt"
    path.write_text(word_corpus(3000))
    return path


@pytest.fixture(scope="module")
def table(folder):
    return write_csv(folder / "order.csv", order_examples(120, seed=2))


@pytest.fixture(scope="module")
def entities(folder):
    return write_conll(folder / "entities.txt", entity_sentences(60, seed=2))


@pytest.fixture(scope="module")
def lm_run(folder, corpus):
    out = folder / "lm"
    assert main(["train", str(corpus), "--out", str(out), *LM_TINY, "--max-steps", "2"]) == 0
    return out


@pytest.fixture(scope="module")
def cls_run(folder, table):
    out = folder / "cls"
    assert main(["classify", "train", str(table), "--out", str(out), *CLS_TINY,
                 "--max-steps", "2"]) == 0
    return out


@pytest.fixture(scope="module")
def tag_run(folder, entities):
    out = folder / "tag"
    assert main(["tag", "train", str(entities), "--out", str(out), *TAG_TINY,
                 "--max-steps", "2"]) == 0
    return out


@pytest.fixture(scope="module")
def pairs(folder):
    return write_tsv(folder / "pairs.tsv", reverse_pairs(120, seed=2))


@pytest.fixture(scope="module")
def translate_run(folder, pairs):
    out = folder / "translate"
    assert main(["translate", "train", str(pairs), "--out", str(out), *TRANSLATE_TINY,
                 "--max-steps", "2"]) == 0
    return out


# ----------------------------------------------------------------------------- strict resume


def _train_parser(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices[command[0]]
    for name in command[1:]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _optional_flags(command):
    """Every optional flag of a train parser: flag -> (dest, is a switch)."""
    flags = {}
    for action in _train_parser(command)._actions:
        if not action.option_strings:
            continue
        flag = max(action.option_strings, key=len)
        if flag not in NOT_OPTIONS:
            flags[flag] = (action.dest, isinstance(action, argparse._StoreTrueAction))
    return flags


# A value other than the run's for every optional flag; a new flag of the parser must be added
# here (the test checks that this table and the parser agree).
TRAINING_VALUES = {"--optimizer": "sgd", "--lr": 0.01, "--weight-decay": 0.01, "--clip": 0.5,
                   "--schedule": "constant", "--epochs": 50, "--max-steps": 3,
                   "--time-budget": 100.0, "--eval-every": 1, "--patience": 10,
                   "--seed": 7, "--device": "cpu", "--average": "nt", "--precision": "bf16"}
LM_VALUES = {"--tokenizer": "word", "--normalize": "lowercase", "--vocab-size": 10,
             "--min-freq": 2, "--encoding": "latin-1", "--cell": "gru",
             "--implementation": "scratch", "--layers": 2, "--hidden": 32, "--embedding": 8,
             "--dropout": 0.5, "--seq-len": 8, "--batch-size": 4, "--partition": "random",
             "--tie-weights": True, "--scheduled-sampling": "linear", "--sampling-k": 0.5,
             "--monitor": "accuracy", "--direction": "backward",
             "--dropout-input": 0.3, "--dropout-hidden": 0.2, "--dropout-embedding": 0.1,
             "--dropout-mask": "sequence", "--weight-dropout": 0.2, "--ar": 1.0, "--tar": 1.0,
             "--truncation": "variable", "--softmax": "adaptive", **TRAINING_VALUES}
CLS_VALUES = {"--valid": "VALID", "--test": "TEST", "--text-column": "sentence",
              "--label-column": "class", "--encoding": "latin-1", "--tokenizer": "char",
              "--min-freq": 2, "--vocab-size": 10, "--max-len": 10, "--vectors": "VECTORS",
              "--cell": "gru", "--implementation": "scratch", "--layers": 2, "--hidden": 16,
              "--embedding": 8, "--pooling": "mean", "--dropout": 0.1, "--batch-size": 8,
              "--unidirectional": True, "--keep-case": True, "--monitor": "macro_f1",
              **TRAINING_VALUES}
TAG_VALUES = {"--valid": "VALID", "--test": "TEST", "--word-column": 1, "--tag-column": 0,
              "--encoding": "latin-1", "--scheme": "IOB1", "--tag-scheme": "BIOES",
              "--min-freq": 2, "--vocab-size": 10, "--vectors": "VECTORS", "--cell": "gru",
              "--implementation": "scratch", "--layers": 2, "--hidden": 16, "--embedding": 8,
              "--chars": "cnn", "--head": "softmax", "--dropout": 0.1, "--word-dropout": 0.1,
              "--batch-size": 8, "--unidirectional": True, "--lowercase": True,
              "--monitor": "token_accuracy", **TRAINING_VALUES}
TRANSLATE_VALUES = {"--source": "source.txt", "--target": "target.txt", "--valid": "VALID",
                    "--test": "TEST", "--encoding": "latin-1", "--tokenizer": "char",
                    "--min-freq": 2, "--vocab-size": 10, "--max-len": 10, "--cell": "gru",
                    "--implementation": "scratch", "--layers": 2, "--hidden": 16,
                    "--embedding": 8, "--attention": "dot", "--dropout": 0.1,
                    "--label-smoothing": 0.2, "--teacher-forcing": 0.5,
                    "--scheduled-sampling": "linear", "--sampling-k": 0.5,
                    "--sampling-steps": 10, "--batch-size": 8, "--reverse": True,
                    "--lowercase": True, "--unidirectional": True, "--no-input-feeding": True,
                    "--tie-embeddings": True, "--monitor": "chrf", **TRAINING_VALUES}
# switch flag -> (options field, the value the switch sets)
SWITCH_FIELDS = {"--tie-weights": ("tie_weights", True),
                 "--unidirectional": ("bidirectional", False), "--keep-case": ("lowercase", False),
                 "--lowercase": ("lowercase", True), "--reverse": ("reverse", True),
                 "--no-input-feeding": ("input_feeding", False),
                 "--tie-embeddings": ("tie_embeddings", True)}

TASKS = {"lm": (["train"], LM_VALUES), "classify": (["classify", "train"], CLS_VALUES),
         "tag": (["tag", "train"], TAG_VALUES),
         "translate": (["translate", "train"], TRANSLATE_VALUES)}


def _run_and_data(task, lm_run, cls_run, tag_run, table, entities, translate_run=None,
                  pairs=None):
    """The task's run fixture, and the DATA argument its train command takes (if any)."""
    return {"lm": (lm_run, []), "classify": (cls_run, [str(table)]),
            "tag": (tag_run, [str(entities)]), "translate": (translate_run, [str(pairs)])}[task]


def _cases():
    for task, (command, values) in TASKS.items():
        for flag in values:
            yield pytest.param(task, flag, id=f"{task}{flag}")


@pytest.mark.parametrize("task", TASKS)
def test_the_value_table_covers_every_flag_of_the_parser(task):
    command, values = TASKS[task]
    assert set(_optional_flags(command)) == set(values)


def _shown(value) -> str:
    return "(none)" if value is None else str(value)


@pytest.mark.parametrize("task,flag", list(_cases()))
def test_resume_with_one_flag_changed(task, flag, lm_run, cls_run, tag_run, translate_run,
                                      pairs, table, entities,
                                      tmp_path, capsys):
    command, values = TASKS[task]
    run, data = _run_and_data(task, lm_run, cls_run, tag_run, table, entities, translate_run,
                              pairs)
    out = tmp_path / "copy"
    shutil.copytree(run, out)
    before = json.loads((out / "config.json").read_text())
    dest, switch = _optional_flags(command)[flag]
    value = values[flag]
    if value in ("VALID", "TEST") and task == "tag":
        value = str(write_conll(tmp_path / f"{value.lower()}.txt", entity_sentences(20, seed=3)))
    elif value in ("VALID", "TEST"):
        value = str(write_csv(tmp_path / f"{value.lower()}.csv", order_examples(20, seed=3)))
    elif value == "VECTORS":
        value = tmp_path / "vectors.txt"
        value.write_text("alfa 1 2\nbeta 3 4\n")
        value = str(value)
    argv = [*command, *data, "--out", str(out), "--resume", "--quiet", "--max-steps", "4"]
    argv += [flag] if switch else [flag, str(value)]
    if switch:
        field, value = SWITCH_FIELDS[flag]
    else:
        field = dest
    train_section = field in TrainConfig.__dataclass_fields__
    options = before["options"]
    old = options["train"][field] if train_section else options.get(field)
    assert old != value, f"{flag}: the table's value {value!r} is the run's own"

    if train_section and field in CHANGEABLE_ON_RESUME:
        capsys.readouterr()
        code = main(argv)
        assert code == 0, capsys.readouterr().err
        config = json.loads((out / "config.json").read_text())
        assert config["options"]["train"][field] == value
        changed = config["resumes"][-1]["changed"]
        assert changed[field] == {"from": old, "to": value}
        if field != "max_steps":
            assert changed["max_steps"] == {"from": 2, "to": 4}
            assert config["options"]["train"]["max_steps"] == 4
        state = torch.load(out / "last" / "trainer_state.pt", weights_only=True)
        assert state["progress"]["step"] == (3 if field == "max_steps" else 4)
        # everything else is the run's own
        assert {k: v for k, v in config["options"].items() if k != "train"} == \
            {k: v for k, v in options.items() if k != "train"}
    else:
        err = _error(capsys, argv)
        assert flag in err, err
        assert f" {_shown(value)} " in err and f"run's {_shown(old)}" in err, err
        assert json.loads((out / "config.json").read_text()) == before  # untouched


def test_resume_refuses_other_data(lm_run, cls_run, corpus, table, tmp_path, capsys):
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text())
    out = tmp_path / "lm"
    shutil.copytree(lm_run, out)
    err = _error(capsys, ["train", str(other), "--out", str(out), "--resume", "--quiet"])
    assert "CORPUS" in err and str(other) in err and str(corpus) in err
    other_table = write_csv(tmp_path / "other.csv", order_examples(120, seed=4))
    out = tmp_path / "cls"
    shutil.copytree(cls_run, out)
    err = _error(capsys, ["classify", "train", str(other_table), "--out", str(out), "--resume",
                          "--quiet"])
    assert "DATA" in err and str(other_table) in err and str(table) in err
    # the same path, other contents: the digest
    changed = tmp_path / "same.csv"
    shutil.copy(table, changed)
    out2 = tmp_path / "cls2"
    assert main(["classify", "train", str(changed), "--out", str(out2), *CLS_TINY,
                 "--max-steps", "1"]) == 0
    write_csv(changed, order_examples(120, seed=5))
    assert "digest" in _error(capsys, ["classify", "train", str(changed), "--out", str(out2),
                                       "--resume", "--max-steps", "2", "--quiet"])


def test_resume_with_the_same_options_continues(cls_run, table, tmp_path):
    out = tmp_path / "cls"
    shutil.copytree(cls_run, out)
    assert main(["classify", "train", str(table), "--out", str(out), "--resume", "--hidden", "8",
                 "--max-steps", "3", "--quiet"]) == 0
    state = torch.load(out / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 3


# ----------------------------------------------------------------------------- restart


@pytest.mark.parametrize("task", ["lm", "classify", "tag", "translate"])
def test_a_run_killed_before_its_first_checkpoint_starts_afresh(task, lm_run, cls_run, tag_run,
                                                                 translate_run, pairs,
                                                                 table, entities, tmp_path,
                                                                 capsys):
    run, data = _run_and_data(task, lm_run, cls_run, tag_run, table, entities, translate_run,
                              pairs)
    command = TASKS[task][0] + data
    out = tmp_path / "killed"
    shutil.copytree(run, out)
    shutil.rmtree(out / "last")
    (out / "model.safetensors").unlink()
    before = json.loads((out / "config.json").read_text())
    capsys.readouterr()
    assert main([*command, "--out", str(out), "--resume", "--max-steps", "3", "--quiet"]) == 0
    log = capsys.readouterr().out
    assert "has no checkpoint yet" in log and "starting it afresh" in log, log
    assert log.count("starting it afresh") == 1
    assert (out / "last").is_dir() and (out / "model.safetensors").exists()
    state = torch.load(out / "last" / "trainer_state.pt", weights_only=True)
    assert state["progress"]["step"] == 3
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == before["model"]  # the saved options, not today's defaults
    assert config["options"]["train"]["max_steps"] == 3
    assert (out / "vocabs" / "source.json").exists()
    # a --resume into a folder that is not a run at all is refused
    (tmp_path / "empty").mkdir()
    assert "not a run to resume" in _error(capsys, [*command, "--out", str(tmp_path / "empty"),
                                                    "--resume", "--quiet"])


# ----------------------------------------------------------------------------- imports


def _python(code: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60)


HEAVY = ("[m for m in sys.modules if m == 'recurrente.train.trainer' "
         "or m.startswith('recurrente.tasks.') or m == 'recurrente.tasks']")


def test_help_shows_plain_text_not_docstring_markup(capsys):
    """Every command's --help: no ``code`` quotes or :role:`targets` of the docstrings it uses."""
    import re
    from recurrente.cli.main import build_parser
    parser = build_parser()
    commands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)][0]
    seen = 0
    for name, sub in commands.choices.items():
        for p in [sub] + [v for a in sub._actions if isinstance(a, argparse._SubParsersAction)
                          for v in a.choices.values()]:
            text = p.format_help()
            assert not re.search(r"``|:(mod|func|class|meth|data):`", text), (name, text)
            seen += 1
    assert seen > 20
    from recurrente.cli.checks import plain
    assert plain("``a`` and :func:`~recurrente.x.load` *really*") == "a and load really"


def test_import_recurrente_imports_neither_the_trainer_nor_any_task():
    done = _python(f"import recurrente, sys; print({HEAVY})")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
    done = _python("import recurrente, sys; recurrente.SequenceClassifier; "
                   "print('recurrente.tasks.classify.model' in sys.modules, "
                   "'recurrente.tasks.lm.model' in sys.modules)")
    assert done.stdout.split() == ["True", "False"], done.stdout + done.stderr


# the help may read the task packages and their flags (``tasks/<t>/cli.py``), nothing else of them
HEAVY_FOR_HELP = ("[m for m in sys.modules if m == 'recurrente.train.trainer' or m.startswith("
                  "'recurrente.tasks.') and m.count('.') > 2 and not m.endswith('.cli')]")


def test_help_works_and_stays_light():
    done = _python("import sys\nfrom recurrente.cli.main import main\n"
                   "try:\n    main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
                   f"print('CODE', code, {HEAVY_FOR_HELP})")
    assert done.returncode == 0, done.stderr
    assert "classify" in done.stdout and "predict" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "CODE 0 []", done.stdout
    for argv in (["--help"], ["classify", "train", "--help"], ["train", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0


# ----------------------------------------------------------------------------- trainer


class Scalar(Task):
    """One parameter pulled towards each batch's value: the weights differ at every step."""

    count_unit = "seq"

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self._config = {}

    def loss(self, batch, state=None):
        return ((self.w - batch) ** 2).sum(), batch.numel(), None

    def describe(self):
        return "scalar"


class Targets:
    carries_state = False

    def __len__(self):
        return 1000

    def epoch(self, e, start=0):
        return (torch.full((2,), float(i + 1)) for i in range(start, len(self)))


def scripted(values, **more):
    """A fake evaluation: the next of ``values`` as "accuracy", and a snapshot of the weights."""
    snapshots = []

    def evaluate(task):
        snapshots.append(task.w.detach().clone())
        return {"loss": 1.0, "accuracy": values[len(snapshots) - 1], **more}
    return evaluate, snapshots


def _train(tmp_path, values, mode, **config):
    evaluate, snapshots = scripted(values)
    trainer = Trainer(Scalar(), Targets(), TrainConfig(**{
        "optimizer": "sgd", "lr": 0.1, "schedule": "constant", "eval_every": 1, **config}),
        evaluate, callbacks=[Checkpointer(tmp_path)], monitor="accuracy", mode=mode)
    return trainer, trainer.fit(), snapshots


@pytest.mark.parametrize("mode", ["max", "min"])
def test_best_checkpoint_follows_the_monitored_direction(mode, tmp_path):
    values = [0.2, 0.7, 0.5, 0.9, 0.1, 0.3]
    trainer, progress, snapshots = _train(tmp_path, values, mode, max_steps=6)
    best = max(values) if mode == "max" else min(values)
    assert progress.best == best and len(snapshots) == 6
    improved = [r["improved"] for r in progress.history]
    if mode == "max":
        assert improved == [True, True, False, True, False, False]
    else:
        assert improved == [True, False, False, False, True, False]
    saved = load_file(str(tmp_path / "model.safetensors"))["w"]
    assert torch.equal(saved, snapshots[values.index(best)])
    assert not torch.equal(saved, trainer.task.w.detach())  # not merely the last weights


@pytest.mark.parametrize("mode,stopped_at", [("max", 6), ("min", 3)])
def test_early_stopping_counts_non_improvements_in_the_monitored_direction(mode, stopped_at,
                                                                          tmp_path):
    values = [0.1, 0.5, 0.4, 0.6, 0.3, 0.2, 0.9, 0.95, 0.99]
    _, progress, _ = _train(tmp_path, values, mode, max_steps=100, patience=2)
    assert progress.stop_reason == "early stopping"
    assert progress.step == stopped_at and len(progress.history) == stopped_at


def test_plateau_schedule_follows_the_monitored_direction(tmp_path):
    rising = [0.1 * i for i in range(1, 9)]
    trainer, _, _ = _train(tmp_path / "a", rising, "max", max_steps=8, schedule="plateau")
    assert trainer.plateau.scale == 1.0
    trainer, _, _ = _train(tmp_path / "b", rising, "min", max_steps=8, schedule="plateau")
    assert trainer.plateau.scale < 1.0


def test_unknown_mode_or_missing_metric():
    with pytest.raises(ValueError, match="mode"):
        Trainer(Scalar(), Targets(), TrainConfig(max_steps=1), mode="up")
    trainer = Trainer(Scalar(), Targets(), TrainConfig(max_steps=1),
                      lambda task: {"loss": 1.0}, monitor="accuracy", mode="max")
    with pytest.raises(KeyError, match="accuracy"):
        trainer.fit()


# ----------------------------------------------------------------------------- progress


def test_progress_in_a_non_terminal_writes_plain_lines_with_the_tasks_metrics():
    stream = io.StringIO()  # isatty() is False
    evaluate, _ = scripted([0.5, 0.75, 0.8], macro_f1=0.25)
    trainer = Trainer(Scalar(), Targets(), TrainConfig(max_steps=6, eval_every=2, lr=0.01),
                      evaluate, callbacks=[ProgressBar(True, every=0, stream=stream)],
                      monitor="accuracy", mode="max")
    trainer.fit()
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text, repr(text)
    lines = text.splitlines()
    steps = [l for l in lines if "valid" not in l]
    evals = [l for l in lines if "valid" in l]
    assert [l.split()[1] for l in steps] == ["1", "2", "3", "4", "5", "6"], lines
    assert all(l.startswith("step ") and "loss " in l and "seq_s " in l and "ppl" not in l
               for l in steps), lines
    assert len(evals) == 3 and evals[0].startswith("step 2: valid ")
    assert all("accuracy" in l and "macro_f1" in l and "perplexity" not in l for l in evals)
    assert evals[0].endswith("(best)") and "accuracy 0.5000" in evals[0]


def test_progress_in_a_non_terminal_is_one_line_every_few_seconds_not_one_per_step():
    stream = io.StringIO()
    evaluate, _ = scripted([0.5] * 4)
    Trainer(Scalar(), Targets(), TrainConfig(max_steps=400, eval_every=100, lr=0.01), evaluate,
            callbacks=[ProgressBar(True, every=10.0, stream=stream)], monitor="accuracy",
            mode="max").fit()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 4 and all(": valid " in l for l in lines), lines  # 400 fast steps


def test_progress_disabled_writes_nothing():
    stream = io.StringIO()  # isatty() is False
    evaluate, _ = scripted([0.5])
    Trainer(Scalar(), Targets(), TrainConfig(max_steps=1, eval_every=1), evaluate,
            callbacks=[ProgressBar(False, every=0, stream=stream)], monitor="accuracy",
            mode="max").fit()
    assert stream.getvalue() == ""


def test_a_classifier_run_reports_its_own_metrics_on_stderr(table, tmp_path, capsys):
    capsys.readouterr()
    assert main(["classify", "train", str(table), "--out", str(tmp_path / "r"), "--hidden", "8",
                 "--max-steps", "2", "--eval-every", "1"]) == 0
    err = capsys.readouterr().err
    evals = [l for l in err.splitlines() if ": valid " in l]
    assert len(evals) == 2 and all("accuracy" in l and "perplexity" not in l for l in evals), err
    assert "\r" not in err


# ----------------------------------------------------------------------------- no reseed


def test_the_trainer_leaves_the_global_random_stream_alone():
    model = Scalar()
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    trainer = Trainer(model, Targets(), TrainConfig(max_steps=3, seed=12345, eval_every=1),
                      lambda task: {"loss": 1.0})
    assert torch.equal(torch.rand(3), expected)
    torch.manual_seed(1)
    trainer.fit()  # nothing random in this task: the stream is still where it was
    assert torch.equal(torch.rand(3), expected)


# ----------------------------------------------------------------------------- load_run


def test_load_run_refuses_a_run_of_another_task_in_one_sentence(lm_run, cls_run, tag_run):
    with pytest.raises(UserError) as err:
        load_run(lm_run, task="classify")
    message = str(err.value)
    assert "\n" not in message and "language model" in message and "classifier" in message
    with pytest.raises(UserError, match="sequence classifier run, not a language model"):
        load_run(cls_run, task="lm")
    assert load_run(cls_run, task="classify").spec.name == "classify"
    with pytest.raises(UserError, match="unknown task"):
        load_run(cls_run, task="nope")
    with pytest.raises(UserError, match="sequence classifier run, not a sequence tagger"):
        load_run(cls_run, task="tag")
    with pytest.raises(UserError, match="sequence tagger run, not a sequence classifier"):
        load_run(tag_run, task="classify")
    assert load_run(tag_run, task="tag").spec.name == "tag"


# ----------------------------------------------------------------------------- resume: what is the same

def test_resume_accepts_the_same_data_however_spelled_or_left_out(cls_run, tmp_path, monkeypatch,
                                                                   table):
    out = tmp_path / "copy"
    shutil.copytree(cls_run, out)
    monkeypatch.chdir(table.parent)
    for data in ([f"./{table.name}"], [str(table.resolve())], []):  # DATA may be left out
        assert main(["classify", "train", *data, "--out", str(out), "--resume", "--quiet",
                     "--max-steps", "3" if data else "4"]) == 0


def test_resume_accepts_explicit_values_equal_to_the_runs_effective_ones(cls_run, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(cls_run, out)
    config = json.loads((out / "config.json").read_text())
    assert config["options"]["text_column"] == "text"  # guessed, then saved as the run's
    assert config["options"]["train"]["monitor"] == "accuracy"
    assert config["options"]["train"]["eval_every"] == 100  # the classifier's own default
    assert main(["classify", "train", "--out", str(out), "--resume", "--quiet", "--max-steps",
                 "3", "--monitor", "accuracy", "--text-column", "text"]) == 0


def test_labels_of_any_shape_order_without_error():
    from recurrente.data.vocab import Vocab
    assert Vocab.of_labels(["10", "2", "²", "--1", "b", "a"]).itos == \
        ["2", "10", "--1", "a", "b", "²"]


def test_decomposed_accents_stay_inside_words():
    import unicodedata
    from recurrente.data.vocab import split_text
    assert split_text(unicodedata.normalize("NFD", "Señor, ¿qué?"), "word", lowercase=True) == \
        ["señor", ",", "¿", "qué", "?"]
