"""The course notebooks (src/recurrente/notebooks/{es,en}): each runs top to bottom in seconds
(``RECURRENTE_NOTEBOOK_QUICK=1``), is stored clean, uses only the public API, and the Spanish and
English versions hold the same code.

The notebooks are collected at import time, so a new one is picked up without editing this file.
"""

import ast
import io
import re
import time
import tokenize
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "src" / "recurrente" / "notebooks"
LANGS = ("es", "en")
NOTEBOOKS = sorted(FOLDER.glob("*/*.ipynb"))
NAMES = sorted({p.name for p in NOTEBOOKS})
SHARED_DATA = ROOT.parent / "shared" / "data"  # the CI's data folder (quijote.txt), when present
NOTEBOOK_SECONDS = 60  # the whole notebook, QUICK, kernel start included

try:
    import pytest_timeout  # noqa: F401
    _timeout = pytest.mark.timeout(180)
except ImportError:  # pragma: no cover - pytest-timeout is in the dev extra
    def _timeout(f):
        return f


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _code(cell) -> str:
    """A code cell's source without IPython's ``%magic`` and ``!shell`` lines (Python for ast)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in cell.source.splitlines())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
@_timeout
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("RECURRENTE_NOTEBOOK_QUICK", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the inline backend: every figure is drawn
    # never the network: a dataset missing from RECURRENTE_DATA fails at once (connection
    # refused, a UserError), and the notebook takes its fallback text
    monkeypatch.setenv("RECURRENTE_MIRROR", "http://127.0.0.1:9")
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("RECURRENTE_DATA", str(SHARED_DATA))
    nb = _read(path)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.monotonic()
    client.execute()  # a cell that raises: CellExecutionError, the test fails with its traceback
    seconds = time.monotonic() - start
    assert seconds < NOTEBOOK_SECONDS, f"{_id(path)} took {seconds:.0f} s with QUICK=1"


def test_there_are_notebooks_in_both_languages():
    for lang in LANGS:
        assert list((FOLDER / lang).glob("*.ipynb")), f"no notebooks in {FOLDER / lang}"
    assert {p.parent.name for p in NOTEBOOKS} <= set(LANGS)


def test_both_languages_have_the_same_notebooks():
    es = sorted(p.name for p in (FOLDER / "es").glob("*.ipynb"))
    en = sorted(p.name for p in (FOLDER / "en").glob("*.ipynb"))
    assert es == en, \
        f"only in es: {sorted(set(es) - set(en))}, only in en: {sorted(set(en) - set(es))}"
    for name in es:
        assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_stored_without_outputs(path):
    nb = _read(path)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{_id(path)}: code cell {i} has outputs"
            assert cell.execution_count is None, \
                f"{_id(path)}: code cell {i} has an execution count"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_reads_the_quick_switch(path):
    code = "\n".join(c.source for c in _read(path).cells if c.cell_type == "code")
    assert "RECURRENTE_NOTEBOOK_QUICK" in code, f"{_id(path)} never reads RECURRENTE_NOTEBOOK_QUICK"


def _tokens(source: str) -> list:
    """The cell's code with the prose taken out: comments dropped, every string literal (an
    f-string too, a run of adjacent ones as well) one placeholder, line breaks inside brackets
    ignored, so that a translated label or comment changes nothing."""
    out, depth = [], 0
    fstring_start = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == fstring_start:
            depth += 1
            continue
        if tok.type == fstring_end:
            depth -= 1
            tok = tokenize.TokenInfo(tokenize.STRING, "", tok.start, tok.end, tok.line)
        if depth:
            continue
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.STRING:
            if out and out[-1] == "<str>":
                continue
            out.append("<str>")
        elif tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            out.append(tokenize.tok_name[tok.type])
        else:
            out.append(tok.string)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_spanish_and_english_hold_the_same_code(name):
    if not ((FOLDER / "es" / name).exists() and (FOLDER / "en" / name).exists()):
        pytest.skip("not in both languages (test_both_languages_have_the_same_notebooks fails)")
    es, en = _read(FOLDER / "es" / name), _read(FOLDER / "en" / name)
    assert [c.cell_type for c in es.cells] == [c.cell_type for c in en.cells], \
        f"{name}: the cells differ in number or kind between es/ and en/"
    code_cells = [(a, b) for a, b in zip(es.cells, en.cells) if a.cell_type == "code"]
    for i, (a, b) in enumerate(code_cells):
        assert _tokens(_code(a)) == _tokens(_code(b)), (
            f"{name}: code cell {i} differs between es/ and en/ beyond comments and strings:\n"
            f"--- es\n{a.source}\n--- en\n{b.source}")


def _private_uses(source: str) -> tuple:
    """The private imports of a cell (of ``_x`` modules or names), and the names it imports
    from recurrente (whose ``._x`` attributes are private too)."""
    found, from_recurrente = [], set()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(part.startswith("_") for part in alias.name.split(".")):
                    found.append(f"import {alias.name}")
                if alias.name.split(".")[0] == "recurrente":
                    from_recurrente.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                found.append(f"from {module} import ...")
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"from {module} import {alias.name}")
                if module.split(".")[0] == "recurrente":
                    from_recurrente.add(alias.asname or alias.name)
    return found, from_recurrente


def _private_attributes(tree, names) -> list:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and re.match(r"_[A-Za-z]", node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in names:
                found.append(f"{ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_only_the_public_api(path):
    cells = [_code(c) for c in _read(path).cells if c.cell_type == "code"]
    found, names = [], set()
    for source in cells:  # names imported in one cell are used in the next ones
        more, imported = _private_uses(source)
        found += more
        names |= imported
    for source in cells:
        found += _private_attributes(ast.parse(source), names)
    found += [m.group(0) for source in cells
              for m in re.finditer(r"\brecurrente[\w.]*\._[A-Za-z]\w*", source)]
    assert not found, f"{_id(path)} reaches private names: {sorted(set(found))}"


EXERCISES = re.compile(r"^#+\s*(Ejercicios|Exercises)\b", re.MULTILINE)
DETAILS = re.compile(r"<details>.*?</details>", re.DOTALL)
# a solution's label (a heading, bold, "Solution:", a <summary>) outside <details>
SOLUTION = re.compile(r"(^#+\s*|\*\*|<summary>)\s*(soluci[oó]n|solution)|"
                      r"\b(soluci[oó]n|solution)\s*:", re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_exercise_solutions_are_hidden(path):
    cells = _read(path).cells
    starts = [i for i, c in enumerate(cells) if c.cell_type == "markdown"
              and EXERCISES.search(c.source)]
    assert starts, f"{_id(path)} has no 'Ejercicios'/'Exercises' heading"
    after = [c for c in cells[starts[0]:] if c.cell_type == "markdown"]
    text = "\n".join(c.source for c in after)
    assert text.count("<details>") == text.count("</details>") >= 1, \
        f"{_id(path)}: the exercises need their solutions in <details> ... </details>"
    for cell in after:
        outside = DETAILS.sub("", EXERCISES.sub("", cell.source))
        assert not SOLUTION.search(outside), \
            f"{_id(path)}: a solution outside <details>:\n{cell.source}"
