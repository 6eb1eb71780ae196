"""The notebooks: committed as written by notebooks/_build.py, without outputs, listed in the README.

pytest's nbmake plugin executes them (`pytest --nbmake notebooks/`); these tests check only what
running them cannot: that the committed .ipynb files are exactly what `_build.py` writes (so the
script is the one source), that no outputs were committed, that the README links each one, and that
the full run notebook 5 quotes is the README's.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _load_build_script():
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_script()
COMMITTED = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_committed_notebook_comes_from_the_build_script():
    assert [path.stem for path in COMMITTED] == sorted(build.NOTEBOOKS)


@pytest.mark.parametrize("name", sorted(build.NOTEBOOKS))
def test_committed_notebook_is_in_sync_with_the_build_script(name):
    path = NOTEBOOKS / f"{name}.ipynb"
    assert path.read_text(encoding="utf-8") == build.render(name), (
        f"{path.name} differs from notebooks/_build.py: edit the cells there and run "
        "`python notebooks/_build.py`"
    )


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        assert "execution" not in cell.metadata, f"{path.name} {cell.id}: execution timings saved"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} {cell.id}: outputs saved"
            assert cell.execution_count is None, f"{path.name} {cell.id}: execution count saved"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda path: path.name)
def test_notebook_imports_handgrad_and_asserts_its_checks(path):
    code = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code")
    assert "import handgrad" in code
    assert "assert " in code  # a failing check fails its cell, and so CI


def test_the_readme_links_every_notebook():
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in COMMITTED:
        assert f"(notebooks/{path.name})" in docs, f"the README does not link {path.name}"


def test_notebook_5_quotes_the_readmes_full_run():
    docs = (ROOT / "README.md").read_text(encoding="utf-8")
    for split, accuracy in zip(("train", "dev", "test"), build.FULL_RUN, strict=True):
        assert re.search(rf"^{split} accuracy +{re.escape(accuracy)} ", docs, re.M), (
            f"the README's full run has no {split} accuracy {accuracy}: update FULL_RUN in "
            "notebooks/_build.py"
        )
