"""Every page of the built book, in headless Chromium: no errors, typeset math, rendered
tables, loaded images, working links, and a readable dark mode. One test per page and check; the ids
are the page names (``book/esn``). Run after ``make book``::

    python -m pytest -p no:cacheprovider tests/browser
"""
from urllib.parse import unquote, urlsplit

# WCAG 2 contrast ratio of normal text ("AA" level).
MIN_CONTRAST = 4.5


def luminance(rgb):
    """Relative luminance of an sRGB colour with channels in 0..255 (WCAG 2)."""
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(rgb_a, rgb_b):
    """WCAG 2 contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    high, low = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def local_target(url, base_url, html_dir):
    """``(file, fragment)`` of a link into the book, or None for a link elsewhere."""
    if not url.startswith(base_url):
        return None
    parts = urlsplit(url)
    relative = unquote(parts.path)[len(urlsplit(base_url).path):]
    target = html_dir / relative
    if relative == "" or relative.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def broken_images(report):
    return [img["src"] for img in report.data["images"] if not (img["complete"] and img["naturalWidth"] > 0)]


def test_page_loads_without_errors(page_name, light):
    report = light(page_name)
    assert report.errors == [], f"{report.url}:\n" + "\n".join(report.errors)
    assert report.data["hasMain"], f"{report.url} has no main content (article.bd-article)"


def test_math_is_typeset(page_name, light):
    data = light(page_name).data
    assert data["rawMath"] == [], f"math left untypeset in the text: {data['rawMath']}"
    if data["mathCount"]:
        assert data["mathjaxLoaded"], f"{data['mathCount']} math elements but MathJax did not start"
        assert data["mathjaxError"] is None, f"MathJax startup: {data['mathjaxError']}"
        assert data["mathUntypeset"] == [], f"math elements without typeset output: {data['mathUntypeset']}"
        assert data["mjxCount"] >= data["mathCount"]
    assert data["mathErrors"] == [], f"MathJax could not typeset: {data['mathErrors']}"


def test_markdown_tables_are_rendered(page_name, light):
    raw = light(page_name).data["rawTables"]
    assert raw == [], f"Markdown tables shown as text instead of tables: {raw}"


def test_images_load(page_name, light):
    report = light(page_name)
    assert broken_images(report) == [], "images that did not load (or have no size)"


def test_internal_links_resolve(page_name, light, base_url, html_dir):
    report = light(page_name)
    broken = []
    for url in sorted(set(report.data["links"])):
        target = local_target(url, base_url, html_dir)
        if target is None:
            continue
        path, fragment = target
        if not path.is_file():
            broken.append(f"{url}: no file {path.relative_to(html_dir)}")
        elif fragment and path.suffix == ".html":
            ids = light(path.relative_to(html_dir).as_posix()).data["ids"]
            if fragment not in ids:
                broken.append(f"{url}: no element with id {fragment!r}")
    assert broken == [], f"broken links on {report.url}:\n" + "\n".join(broken)


def test_dark_mode(page_name, dark):
    report = dark(page_name)
    data = report.data
    assert data["theme"] == "dark", f"prefers-color-scheme: dark gave data-theme={data['theme']!r}"
    assert luminance(data["bodyBackground"]) < 0.1, f"page background {data['bodyBackground']} is not dark"
    assert luminance(data["textColor"]) > 0.4, f"text colour {data['textColor']} is not light"
    ratio = contrast(data["textColor"], data["textBackground"])
    assert ratio >= MIN_CONTRAST, f"text contrast {ratio:.1f} below {MIN_CONTRAST}"
    assert broken_images(report) == [], "images that did not load in dark mode"
    assert report.errors == [], f"{report.url} in dark mode:\n" + "\n".join(report.errors)


def test_index_redirects_to_the_first_chapter(new_page, base_url, html_dir):
    page, errors = new_page
    page.goto(base_url + "index.html")
    page.wait_for_url(base_url + "book/intro.html")
    page.wait_for_load_state("load")
    assert page.locator("article.bd-article h1").count() == 1
    assert errors == [], "\n".join(errors)
