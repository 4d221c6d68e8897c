"""The notation page: it exists, is in the table of contents, every symbol row is complete
and names the chapter that introduces the symbol, and no symbol has two meanings."""
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
            target = re.fullmatch(r"\{doc\}`([a-z_]+)`", row[-1])
            assert target, f"{row[0]}: 'introduced in' must be one {{doc}} link, got {row[-1]!r}"
            assert any((ROOT / "book" / f"{target.group(1)}{ext}").is_file()
                       for ext in (".ipynb", ".md")), f"{row[0]}: no chapter {target.group(1)}"


def test_no_symbol_is_defined_twice():
    symbols = [row[0] for _, body in tables() for row in body]
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    assert not twice, f"symbols with two rows: {twice}"
