"""`make lab`: the Jupyter Server configuration keeps outputs out of the chapters and new
notebooks out of book/, and the lab recipe passes it, the BLAS setting and --allow-root."""
import copy
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from tornado.web import HTTPError
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = ROOT / ".jupyter" / "jupyter_server_config.py"


@pytest.fixture(scope="module")
def config():
    return PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()


@pytest.fixture(scope="module")
def hook(config):
    return config.ContentsManager.pre_save_hook


class FakeContentsManager:
    """What the hook uses of Jupyter Server's FileContentsManager."""
    root_dir = str(BOOK)


def executed_notebook():
    """An nbformat 4 notebook model as Lab sends it: outputs, counts, widget state."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    code = nbformat.v4.new_code_cell("print(1)\n1 + 1", execution_count=7,
                                     outputs=[nbformat.v4.new_output("stream", text="1\n"),
                                              nbformat.v4.new_output("execute_result",
                                                                     {"text/plain": "2"},
                                                                     execution_count=7)])
    code.metadata["tags"] = ["hide-input"]
    code.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), code]
    return {"type": "notebook", "format": "json", "content": nbformat.from_dict(nb)}


def test_config_serves_book_and_sets_the_hook(config, hook):
    assert Path(config.ServerApp.root_dir) == BOOK
    assert callable(hook)


def test_hook_strips_outputs_of_a_chapter_and_nothing_else(hook):
    chapter = sorted(BOOK.glob("*.ipynb"))[0]
    before = chapter.stat().st_mtime_ns
    model = executed_notebook()
    hook(model=model, path=chapter.name, contents_manager=FakeContentsManager())
    nb = model["content"]
    code = nb.cells[1]
    assert code.outputs == [] and code.execution_count is None
    assert "widgets" not in nb.metadata and "execution" not in code.metadata
    assert code.metadata["tags"] == ["hide-input"] and code.source.startswith("print(1)")
    assert nb.cells[0].source == "# Title"
    nbformat.validate(nb)
    assert chapter.stat().st_mtime_ns == before      # the hook only edits the model


def test_hook_refuses_a_new_notebook_directly_in_book(hook):
    assert not (BOOK / "Untitled.ipynb").exists()
    with pytest.raises(HTTPError) as info:
        hook(model=executed_notebook(), path="Untitled.ipynb",
             contents_manager=FakeContentsManager())
    assert info.value.status_code == 400
    assert "book/scratch/" in info.value.log_message % info.value.args


def test_hook_keeps_scratch_notebooks_and_other_files_as_they_are(hook):
    for path in ("scratch/mine.ipynb", "/scratch/sub/other.ipynb"):
        model = executed_notebook()
        expected = copy.deepcopy(model)
        hook(model=model, path=path, contents_manager=FakeContentsManager())
        assert model == expected
    text = {"type": "file", "format": "text", "content": "x"}
    hook(model=text, path="notes.txt", contents_manager=FakeContentsManager())
    assert text["content"] == "x"


def test_scratch_folder_is_ignored_by_git():
    scratch = BOOK / "scratch"
    assert (scratch / "README.md").is_file()
    ignored = subprocess.run(["git", "check-ignore", "-q", "book/scratch/mine.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "book/scratch/*.ipynb must be ignored by git"
    tracked = subprocess.run(["git", "check-ignore", "-q", "book/scratch/README.md"], cwd=ROOT)
    assert tracked.returncode == 1


def test_lab_recipe_passes_the_config_blas_threads_and_allow_root(tmp_path):
    # A stand-in virtual environment whose `jupyter` prints its environment and arguments;
    # its stamps are newer than the requirements, so make installs nothing.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    jupyter = venv / "bin" / "jupyter"
    jupyter.write_text('#!/bin/sh\necho "OPENBLAS=$OPENBLAS_NUM_THREADS OMP=$OMP_NUM_THREADS"\n'
                       'echo "ARGS $*"\n')
    jupyter.chmod(0o755)
    for stamp in (".book-installed", ".lab-installed"):
        (venv / stamp).touch()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run(["make", "--no-print-directory", "-s", "lab", f"VENV={venv}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert "OPENBLAS=1 OMP=1" in out
    args = out.split("ARGS ", 1)[1].split()
    assert "lab" in args and "--config=.jupyter/jupyter_server_config.py" in args
    assert ("--allow-root" in args) == (os.geteuid() == 0)
