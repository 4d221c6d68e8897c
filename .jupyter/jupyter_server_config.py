"""Jupyter Server settings of ``make lab`` (passed with ``--config``; see book/running.md).

The chapters in ``book/`` are stored without outputs (tests/test_book.py checks it), but
JupyterLab saves what it shows, and autosaves every two minutes. So that exploring a
chapter in Lab never leaves outputs for a commit or breaks ``make test``:

* a chapter (a notebook directly in ``book/``) is written without outputs, execution
  counts and widget state; what Lab shows is unchanged until the notebook is reloaded;
* a *new* notebook directly in ``book/`` is refused with a message: every notebook there
  is a chapter, listed in ``_toc.yml`` and executed by the tests. Scratch notebooks go
  into ``book/scratch/`` (ignored by git, the tests and the build), where they are saved
  as they are, outputs included.
"""
import os
from pathlib import Path

BOOK = Path(__file__).resolve().parent.parent / "book"


def strip_outputs(notebook):
    """Remove outputs, execution counts and widget state from a notebook model's content
    (the JSON dict of an nbformat 4 notebook), in place; return it."""
    notebook.get("metadata", {}).pop("widgets", None)
    for cell in notebook.get("cells", []):
        cell.get("metadata", {}).pop("execution", None)   # Lab's "record timing" option
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return notebook


def is_chapter_path(os_path):
    """Whether ``os_path`` is a notebook directly in ``book/`` (not in a subfolder)."""
    path = Path(os_path).resolve()
    return path.suffix == ".ipynb" and path.parent == BOOK


def book_pre_save_hook(model, path, contents_manager, **kwargs):
    """ContentsManager.pre_save_hook: strip a chapter's outputs, refuse new notebooks
    directly in book/ (a tornado HTTPError, which Lab shows to the reader)."""
    if model.get("type") != "notebook" or not model.get("content"):
        return
    os_path = os.path.join(contents_manager.root_dir, path.strip("/"))
    if not is_chapter_path(os_path):
        return
    if not os.path.exists(os_path):
        from tornado.web import HTTPError

        message = (f"book/ holds only the chapters (each one is listed in _toc.yml and run "
                   f"by the tests): save new notebooks in book/scratch/ instead of {path}")
        raise HTTPError(400, "%s", message, reason="new notebooks go into book/scratch/")
    strip_outputs(model["content"])


c = get_config()  # noqa: F821 (defined by Jupyter when it loads this file)
c.ServerApp.root_dir = str(BOOK)
c.ContentsManager.pre_save_hook = book_pre_save_hook
