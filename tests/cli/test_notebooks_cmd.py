"""``recurrente notebooks``: copies the packaged notebooks (one language or both), never
overwrites."""

from pathlib import Path

import pytest

from recurrente.cli.main import main
from recurrente.cli.notebooks_cmd import notebooks

PACKAGED = Path(__file__).parents[2] / "src" / "recurrente" / "notebooks"


def _names(lang):
    return sorted(p.name for p in (PACKAGED / lang).glob("*.ipynb"))


def test_the_package_finds_its_notebooks():
    for lang in ("es", "en"):
        assert _names(lang), f"no notebooks in {PACKAGED / lang}"
        assert [f.name for f in notebooks(lang)] == _names(lang)


def test_copies_both_languages(tmp_path, capsys):
    out = tmp_path / "nb"
    assert main(["notebooks", str(out)]) == 0
    for lang in ("es", "en"):
        assert sorted(p.name for p in (out / lang).iterdir()) == _names(lang)
        first = _names(lang)[0]
        assert (out / lang / first).read_bytes() == (PACKAGED / lang / first).read_bytes()
    printed = capsys.readouterr().out
    assert "pip install 'recurrente[notebooks]'" in printed and f"jupyter lab {out}" in printed


def test_one_language_goes_straight_into_dir(tmp_path):
    assert main(["notebooks", "--lang", "en", str(tmp_path / "nb")]) == 0
    assert sorted(p.name for p in (tmp_path / "nb").iterdir()) == _names("en")


def test_default_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["notebooks", "--lang", "es"]) == 0
    assert sorted(p.name for p in (tmp_path / "recurrente-notebooks").iterdir()) == _names("es")


def test_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "nb"
    (out / "es").mkdir(parents=True)
    mine = out / "es" / _names("es")[0]
    mine.write_text("my edits")
    assert main(["notebooks", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "already exist" in err and err.count("\n") == 1
    assert mine.read_text() == "my edits"
    assert not (out / "en").exists()  # nothing written when anything is in the way


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["notebooks", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "recurrente notebooks --lang es" in out and "jupyter lab" in out
