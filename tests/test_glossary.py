"""The notation page: it exists, is in the table of contents, every symbol row is complete
and names the chapter that introduces the symbol, and no symbol has two meanings; the
chapters do not bring back the usages that clashed with it, and their prose is spelled
the American way."""
import ast
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"
COLUMNS = ["symbol", "meaning", "shape", "`rnnlib` name", "introduced in"]
# Columns that may be empty: not every symbol has a name in rnnlib.
OPTIONAL = {"`rnnlib` name"}


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables():
    """Every Markdown table of the page: (header, rows)."""
    lines = GLOSSARY.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[-| :]+\|$", lines[i + 1]):
            header, rows, i = cells(lines[i]), [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(cells(lines[i]))
                i += 1
            out.append((header, rows))
        else:
            i += 1
    return out


def toc_files(node):
    if isinstance(node, dict):
        return ([node["file"]] if "file" in node else []) + [
            f for v in node.values() for f in toc_files(v)]
    if isinstance(node, list):
        return [f for item in node for f in toc_files(item)]
    return []


def test_glossary_is_in_the_reference_part_of_the_toc():
    assert GLOSSARY.is_file()
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    reference = [p for p in toc["parts"] if p.get("caption") == "Reference"]
    assert reference and "book/glossary" in toc_files(reference[0])


def test_every_symbol_row_has_all_columns():
    found = tables()
    assert len(found) >= 5, "the glossary should group its symbols in several tables"
    rows = 0
    for header, body in found:
        assert header == COLUMNS, f"columns {header}, expected {COLUMNS}"
        for row in body:
            rows += 1
            assert len(row) == len(COLUMNS), f"row {row} has {len(row)} cells"
            empty = [c for c, v in zip(COLUMNS, row) if not v and c not in OPTIONAL]
            assert not empty, f"row {row[0]} misses {empty}"
            assert row[0].startswith("$"), f"symbol {row[0]!r} is not written as math"
    assert rows >= 40


def test_every_row_names_an_existing_chapter():
    for _, body in tables():
        for row in body:
            target = re.fullmatch(r"\{doc\}`([a-z0-9_]+)`", row[-1])
            assert target, f"{row[0]}: 'introduced in' must be one {{doc}} link, got {row[-1]!r}"
            assert any((ROOT / "book" / f"{target.group(1)}{ext}").is_file()
                       for ext in (".ipynb", ".md")), f"{row[0]}: no chapter {target.group(1)}"


def test_no_symbol_is_defined_twice():
    symbols = [row[0] for _, body in tables() for row in body]
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    assert not twice, f"symbols with two rows: {twice}"


# Usages that the chapters retired so that each symbol keeps the one meaning above
# (issue 13, section 3). Each rule: the chapters it applies to (None: every chapter),
# a pattern searched in the math of their Markdown cells, and what to write instead.
RETIRED_MATH = [
    (None, r"\\sigma'", "the activation's derivative is sigma_h' (sigma is the logistic sigmoid)"),
    (None, r"\(1\s*-\s*a\)", "the leak rate is alpha (a_t is the pre-activation)"),
    (None, r"X\^\\top X \+ \\lambda", "the ridge is beta (lambda is the damping)"),
    (["esn"], r"\\lambda(?![_(])", "the ridge is beta (lambda is the damping, lambda_i an eigenvalue)"),
    (None, r"/\s*\\tau(?![A-Za-z])", "the sampling temperature is \\mathcal{T} (tau is the clipping threshold)"),
    (["extensions", "seq2seq"], r"\\tau(?![A-Za-z])", "the sampling temperature is \\mathcal{T}"),
    (["second_order"], r"\\rho(?![A-Za-z])", "the reduction ratio is r (rho is the spectral radius)"),
    (["difficulties"], r"\\lambda(?![A-Za-z_])", "the one-unit slope is J_u (lambda is the damping)"),
    (None, r"(?<![A-Za-z\\])K = \d", "the number of classes (the output size) is M"),
    (None, r"\\alpha\s*(\\,)?\s*\\Omega", "the weight of Omega is kappa (alpha is the leak rate)"),
    (None, r"U\[-a,\s*a\]", "Glorot's bound is written out (a is the pre-activation)"),
    (None, r"\\mathcal N\(0,\s*s\^2\)", "the Gaussian scale is s_w (s is the ESN's input scaling)"),
    (["second_order"], r"\\ell(?![A-Za-z])", "the loss is L and its output Hessian nabla^2_y L (ell is a layer index)"),
    (["difficulties"], r"\\delta(?![A-Za-z])", "the distance to the fixed point is d (delta_t is the error on the pre-activation)"),
    (["linear_recurrences"], r"\\delta_t", "the injected error is e_t (delta_t is the error on the pre-activation)"),
    # g is only the LSTM candidate g_t (the chapters on gated cells).
    ([c for c in (p.stem for p in sorted((ROOT / "book").glob("*.ipynb"))) if c not in ("lstm", "extensions")],
     r"(?<![A-Za-z\\])g(?![A-Za-z])", "a gradient is nabla L or dL/dh_t (g_t is the LSTM candidate)"),
]
# The same in the prose, outside math and code.
RETIRED_TEXT = [
    (None, r"T×K", "the output size is M"),
]
# British spellings the prose gave up (code names, quoted titles and the bibliography keep theirs).
BRITISH = re.compile(
    r"\b\w*(initialis|normalis|regularis|minimis|maximis|linearis|penalis|optimis|parametris|"
    r"summaris|recognis|generalis|discretis|vectoris|stabilis|parallelis|memoris|amortis)"
    r"(e|ed|es|er|ers|ing|ation|ations)\b"
    r"|\b(centred|centre|centring|behaviour|colours?|neighbours?|favour|labelling|labelled|travelling)\b",
    re.I)
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
CODE = re.compile(r"```[^\n]*|`[^`\n]*`")


def chapter_markdown():
    """{chapter: [(cell index, source)]} of the Markdown cells of every notebook of the book."""
    out = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        out[path.stem] = [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]
    return out


def test_retired_symbol_usages_stay_retired():
    chapters = chapter_markdown()
    found = []
    for names, pattern, instead in RETIRED_MATH + RETIRED_TEXT:
        assert names is None or set(names) <= set(chapters), f"no chapter {set(names) - set(chapters)}"
        in_math = (names, pattern, instead) in RETIRED_MATH
        for chapter in names or chapters:
            for i, source in chapters[chapter]:
                source = CODE.sub(" ", source)
                parts = MATH.findall(source) if in_math else [MATH.sub(" ", source)]
                for part in parts:
                    for m in re.finditer(pattern, part):
                        found.append(f"{chapter} cell {i}: {part[max(0, m.start() - 30):m.end() + 30]!r}: {instead}")
    assert not found, "retired notation is back:\n" + "\n".join(found)


def test_prose_uses_american_spelling():
    found = []
    texts = [(f"{c} cell {i}", s) for c, cells in chapter_markdown().items() for i, s in cells]
    texts.append(("glossary.md", GLOSSARY.read_text()))
    for where, source in texts:
        prose = MATH.sub(" ", CODE.sub(" ", source))
        found += [f"{where}: {m.group(0)}" for m in BRITISH.finditer(prose)]
    assert not found, "British spellings in the prose:\n" + "\n".join(found)


def _docstrings(path):
    """(name, docstring) of the module, its classes and functions in ``path``."""
    tree = ast.parse(path.read_text())
    nodes = [tree] + [n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return [(getattr(n, "name", "module"), ast.get_docstring(n)) for n in nodes
            if ast.get_docstring(n)]


def test_pages_and_docstrings_use_american_spelling():
    # The API page is built from the docstrings, and the Markdown pages are prose too.
    texts = [(p.name, p.read_text()) for p in sorted((ROOT / "book").glob("*.md"))]
    texts.append(("README.md", (ROOT / "README.md").read_text()))
    for path in sorted((ROOT / "rnnlib").glob("*.py")):
        texts += [(f"{path.name} {name}", doc) for name, doc in _docstrings(path)]
    assert len(texts) > 100                                # the docstrings were found
    found = []
    for where, source in texts:
        prose = re.sub(r"``[^`]*``", " ", MATH.sub(" ", CODE.sub(" ", source)))
        found += [f"{where}: {m.group(0)}" for m in BRITISH.finditer(prose)]
    assert not found, "British spellings in pages or docstrings:\n" + "\n".join(found)
