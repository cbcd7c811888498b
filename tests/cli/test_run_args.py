"""``recurrente eval RUN ...`` and ``recurrente predict RUN ...``: the flags after ``RUN`` are
the run's own task's, a flag of another task is one sentence that points to the run's help, and
``RUN --help`` lists the task's flags."""

import pytest

from recurrente.cli.main import main
from tests.classify_fixtures import order_examples, write_csv
from tests.tag_fixtures import entity_sentences, write_conll


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("dispatch")
    write_csv(root / "order.csv", order_examples(60, seed=1))
    write_conll(root / "ner.txt", entity_sentences(40, seed=2))
    for name, argv in {"classify": ["classify", "train", str(root / "order.csv")],
                       "tag": ["tag", "train", str(root / "ner.txt"), "--chars", "none"]}.items():
        assert main([*argv, "--hidden", "8", "--max-steps", "2", "--quiet",
                     "--out", str(root / name)]) == 0
    (root / "lines.txt").write_text("alfa beta uno\nMarta vive en Toledo\n")
    return root


def test_each_run_takes_its_own_tasks_flags(runs, capsys):
    capsys.readouterr()
    assert main(["predict", str(runs / "classify"), str(runs / "lines.txt"), "--top-k", "2"]) == 0
    assert all(len(line.split("\t")) == 2 for line in capsys.readouterr().out.splitlines())
    assert main(["predict", str(runs / "tag"), str(runs / "lines.txt"), "--tokenized"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_another_tasks_flag_is_one_sentence_pointing_to_the_runs_help(runs, capsys):
    capsys.readouterr()
    assert main(["predict", str(runs / "classify"), "--nbest", "2"]) == 2  # a tagger's flag
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--nbest" in err
    assert f"(see recurrente predict {runs / 'classify'} --help)" in err
    with pytest.raises(SystemExit) as done:
        main(["eval", str(runs / "tag"), "--help"])
    assert done.value.code == 0
    assert "--output" in capsys.readouterr().out  # the tagger's eval writes conlleval's input
