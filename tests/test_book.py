"""Checks of the book's structure: table of contents, stored notebooks, citations, links.

These run without executing anything; the notebooks themselves are executed by nbval
(``make test``) and by the book build (``make book``).
"""
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
MARKDOWN_PAGES = sorted(BOOK.glob("*.md"))

# The chapters in the order of the primer, and the keys every author may cite.
CHAPTER_ORDER = [
    "notation", "bptt", "difficulties", "esn", "initialization", "second_order",
    "clipping", "lstm", "extensions", "seq2seq", "linear_recurrences",
]
REQUIRED_KEYS = """
    rumelhart1986 werbos1990 williams1989 hochreiter1991 hochreiter1997 bengio1994
    gers2000 jaeger2001 jaeger2004 jaeger2007 lukosevicius2012 mackey1977 martens2010
    martens2011 sutskever2013 pascanu2013 le2015 graves2012 graves2013 cho2014 chung2014
    jozefowicz2015 puskorius1994 schuster1997 glorot2010 saxe2014 lipton2015
    karpathy2015 schmidhuber1992 elman1990 goodfellow2016
""".split()

# {cite}`a,b`, {cite:p}`a`, {cite:t}`a` in MyST; :cite:`a` and :cite:p:`a` in reST.
CITE = re.compile(r"(?:\{cite(?::[a-z]+)?\}|:cite(?::[a-z]+)?:)`([^`]*)`")
# {doc}`target` or {doc}`text <target>`.
DOC = re.compile(r"\{doc\}`([^`]*)`")


def toc_files():
    """Every `file:` entry of _toc.yml, in order, root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def markdown_sources():
    """(name, text) of every markdown page and every markdown cell of every notebook."""
    sources = [(page.name, page.read_text()) for page in MARKDOWN_PAGES]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        sources += [(f"{path.name} cell {cell.get('id', i)}", cell.source)
                    for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]
    return sources


def bib_keys():
    return set(parse_file(BOOK / "references.bib", bib_format="bibtex").entries)


def test_book_has_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {BOOK}"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    missing = [p.name for p in NOTEBOOKS if f"book/{p.stem}" not in listed]
    assert not missing, f"notebooks in book/ missing from _toc.yml: {missing}"


def test_every_toc_entry_exists():
    entries = toc_files()
    assert len(entries) == len(set(entries)), f"_toc.yml lists a file twice: {entries}"
    missing = [e for e in entries
               if not any((ROOT / f"{e}{ext}").is_file() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml entries without a .md or .ipynb file: {missing}"


def test_chapters_follow_the_order_of_the_primer():
    chapters = [Path(e).name for e in toc_files() if Path(e).name in CHAPTER_ORDER]
    assert chapters == CHAPTER_ORDER


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    executed = [cell.get("id", i) for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code"
                and (cell.outputs or cell.execution_count is not None)]
    assert not executed, f"{path.name}: cells with outputs or execution counts: {executed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_python3_kernelspec(path):
    kernelspec = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec}"
    assert kernelspec.get("language", "python") == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_starts_with_a_title(path):
    cells = nbformat.read(path, as_version=4).cells
    assert cells and cells[0].cell_type == "markdown", f"{path.name}: no title cell"
    assert cells[0].source.startswith("# "), (
        f"{path.name}: the first cell must start with a '# Title' heading, "
        f"got {cells[0].source[:40]!r}")


def test_bibliography_has_every_required_key():
    missing = sorted(set(REQUIRED_KEYS) - bib_keys())
    assert not missing, f"keys missing from book/references.bib: {missing}"


def test_bibliography_entries_are_complete():
    entries = parse_file(BOOK / "references.bib", bib_format="bibtex").entries
    incomplete = [key for key, entry in entries.items()
                  if not entry.persons.get("author") or "title" not in entry.fields
                  or not re.fullmatch(r"\d{4}", entry.fields.get("year", ""))]
    assert not incomplete, f"entries without author, title or year: {incomplete}"


def test_every_cited_key_exists():
    known = bib_keys()
    sources = markdown_sources()
    sources += [(str(p.relative_to(ROOT)), p.read_text())
                for p in sorted((ROOT / "rnnlib").rglob("*.py"))]
    unknown = sorted({(name, key.strip())
                      for name, text in sources
                      for keys in CITE.findall(text)
                      for key in keys.split(",")
                      if key.strip() not in known})
    assert not unknown, f"citations of keys missing from references.bib: {unknown}"


def test_every_doc_link_exists():
    broken = []
    for name, text in markdown_sources():
        for target in DOC.findall(text):
            target = re.sub(r"^.*<(.*)>$", r"\1", target.strip())
            base = ROOT if target.startswith("/") else BOOK
            path = base / target.lstrip("/")
            if not any(path.with_name(path.name + ext).is_file()
                       for ext in (".md", ".ipynb")):
                broken.append((name, target))
    assert not broken, f"{{doc}} links to missing pages: {broken}"


def test_the_checks_find_citations_and_links():
    """The patterns above must match the syntax the book uses, or they check nothing."""
    text = "See {cite}`bengio1994,pascanu2013`, {cite:t}`elman1990` and {doc}`bptt`."
    assert CITE.findall(text) == ["bengio1994,pascanu2013", "elman1990"]
    assert DOC.findall(text + " {doc}`the API <api>`") == ["bptt", "the API <api>"]
    assert any(DOC.findall(text) for _, text in markdown_sources()), (
        "no {doc} link found anywhere in the book: is markdown_sources() reading it?")
