"""Fixtures of the browser tests: the built book, served locally, in headless Chromium.

These tests check the HTML that ``make book`` writes to ``_build/html``, so they run
after the build, on their own::

    python -m pytest -p no:cacheprovider tests/browser

A test run that does not name this folder (``pytest tests book/*.ipynb``, the unit
tests and notebooks) does not collect it: see :func:`pytest_ignore_collect`.

The browser is Debian's ``/usr/bin/chromium`` (installed by ``.ci/install-browser``),
driven by Playwright (``requirements-browser.txt``); Playwright's own browser downloads
are never used. One browser serves the whole session, with a fresh temporary profile.
The book is served over HTTP from 127.0.0.1 on a free port, because the search page
does not work from ``file://``. Every request to another host is blocked and reported:
the book must work offline.

Each page is loaded once per colour scheme, in a new browser context (a first visit);
:func:`light` and :func:`dark` return a cached :class:`PageReport` with what the tests
assert on.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from local_server import CHROMIUM_ARGS, serve  # noqa: E402 (scripts/ is not a package)

# The built book; BOOK_HTML_DIR tests a build elsewhere (e.g. `jupyter-book build
# --path-output DIR` writes DIR/_build/html).
HTML_DIR = Path(os.environ.get("BOOK_HTML_DIR", REPO / "_build" / "html")).resolve()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Milliseconds: one page load, and the wait for MathJax, images and search results.
TIMEOUT_MS = 30_000
# Folders of the build that hold assets, not pages.
ASSET_DIRS = ("_static", "_sources", "_images", "_downloads", "_panels_static")
# Pages tested on their own: the search page (tests/browser/test_search.py) and the
# top-level redirect to the first chapter.
SPECIAL_PAGES = ("search.html", "index.html")
BUILD_FIRST = "build the book first: make book (no {} found)"


def pytest_ignore_collect(collection_path, config):
    """Collect this folder only when the command line names it (or a file in it).

    ``pytest tests`` runs the unit tests and must not need a built book or a browser;
    ``pytest tests/browser`` runs these tests.
    """
    if collection_path == HERE or HERE not in collection_path.parents:
        return None
    root = Path(config.invocation_params.dir)
    for arg in config.args:
        named = (root / arg.split("::")[0]).resolve()
        if named == HERE or HERE in named.parents:
            return None
    return True


def book_pages():
    """Paths of the pages of the built book, relative to ``_build/html``, sorted.

    Empty when the book has not been built (the ``html_dir`` fixture then fails).
    """
    if not (HTML_DIR / "index.html").is_file():
        return []
    return sorted(
        path.relative_to(HTML_DIR).as_posix()
        for path in HTML_DIR.rglob("*.html")
        if path.relative_to(HTML_DIR).parts[0] not in ASSET_DIRS
        and path.relative_to(HTML_DIR).as_posix() not in SPECIAL_PAGES
    )


def pytest_generate_tests(metafunc):
    """Parametrize every test that takes ``page_name`` over the pages of the book.

    Without a build there is one parameter, ``no-build``, whose tests fail with the
    message to build the book (an empty parameter set would be skipped silently).
    """
    if "page_name" in metafunc.fixturenames:
        pages = book_pages() or ["no-build"]
        metafunc.parametrize("page_name", pages, ids=[p.removesuffix(".html") for p in pages])


@pytest.fixture(scope="session")
def html_dir():
    """``_build/html``; fails (never skips) when the book has not been built."""
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(BUILD_FIRST.format(HTML_DIR / "index.html"), pytrace=False)
    return HTML_DIR


@pytest.fixture(scope="session")
def base_url(html_dir):
    """URL of ``_build/html`` served by a local HTTP server (a thread of this process)."""
    with serve(html_dir) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's package) with a fresh temporary profile."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: run .ci/install-browser (as root)", pytrace=False)
    with sync_playwright() as playwright:
        # launch() gives the browser a new temporary --user-data-dir and removes it on close.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class PageReport:
    """What a page showed after it loaded (see ``COLLECT_JS`` for the fields of ``data``)."""

    url: str
    errors: list = field(default_factory=list)
    data: dict = field(default_factory=dict)


# Runs in the page once it has loaded: waits for MathJax and the images, then gathers
# what the tests check. The main content is the article of pydata-sphinx-theme.
COLLECT_JS = """
async (timeoutMs) => {
  const within = (promise) => Promise.race([
    promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), timeoutMs))]);
  const out = {};
  const startup = window.MathJax && window.MathJax.startup;
  out.mathjaxLoaded = Boolean(startup && startup.promise);
  out.mathjaxError = null;
  if (out.mathjaxLoaded) {
    try { await within(startup.promise); } catch (e) { out.mathjaxError = String(e); }
  }
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.allSettled(imgs.map((img) => within(img.decode())));
  out.images = imgs.map((img) => ({
    src: img.currentSrc || img.src, complete: img.complete, naturalWidth: img.naturalWidth}));

  const main = document.querySelector("article.bd-article") || document.querySelector("main");
  out.hasMain = Boolean(main);
  const root = main || document.body;
  const maths = Array.from(root.querySelectorAll(".math"));
  out.mathCount = maths.length;
  out.mathUntypeset = maths.filter((m) => !m.querySelector("mjx-container"))
    .map((m) => m.textContent.trim().slice(0, 80));
  out.mjxCount = root.querySelectorAll("mjx-container").length;
  out.mathErrors = Array.from(root.querySelectorAll("mjx-merror"))
    .map((e) => (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 120));
  // Text that MathJax should have typeset and did not: $...$, $$, \\( \\[ \\begin{.
  const raw = /\\$[^$\\s][^$]*\\$|\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/;
  const skip = "pre, code, .pre, .sig, script, style, textarea, mjx-container, .highlight, .output";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  out.rawMath = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (raw.test(node.nodeValue) && !node.parentElement.closest(skip)) {
      out.rawMath.push(node.nodeValue.trim().slice(0, 120));
    }
  }
  // A Markdown table that was not parsed shows up as a paragraph of "| a | b |" lines
  // with a separator row ("|---|", or "|—|" after smart quotes).
  out.rawTables = Array.from(root.querySelectorAll("p"))
    .map((p) => p.textContent)
    .filter((t) => /^\\s*\\|.*\\|\\s*$/m.test(t) && /\\|\\s*:?[-\\u2014\\u2013]+:?\\s*\\|/.test(t))
    .map((t) => t.trim().slice(0, 120));
  out.links = Array.from(document.querySelectorAll("a[href]")).map((a) => a.href);
  out.ids = Array.from(document.querySelectorAll("[id]")).map((e) => e.id)
    .concat(Array.from(document.querySelectorAll("a[name]")).map((a) => a.name));

  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgba(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const text = root.querySelector("p") || root;
  out.theme = document.documentElement.dataset.theme || null;
  out.bodyBackground = background(document.body);
  out.textColor = rgba(getComputedStyle(text).color).slice(0, 3);
  out.textBackground = background(text);
  return out;
}
"""


def watch(page, errors):
    """Append to ``errors`` every console error, uncaught exception, failed or
    blocked request and HTTP error response of ``page``."""
    page.on("console", lambda msg: msg.type == "error" and errors.append(
        f"console error: {msg.text} (at {msg.location.get('url')}:{msg.location.get('lineNumber')})"))
    page.on("pageerror", lambda exc: errors.append(f"uncaught exception: {exc}"))
    page.on("requestfailed", lambda req: errors.append(f"request failed ({req.failure}): {req.url}"))
    page.on("response", lambda resp: resp.status >= 400 and errors.append(
        f"HTTP {resp.status} for {resp.url}"))


def _new_context(browser, base_url, color_scheme, width=1280):
    """A browser context that blocks (and so fails) every request off the local server;
    the window is ``width`` CSS pixels wide (1280: a laptop; 480: a phone)."""
    context = browser.new_context(color_scheme=color_scheme, viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)

    def route(route):
        if route.request.url.startswith(base_url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)
    return context


class _Pages:
    """Loads pages with one colour scheme and caches their reports.

    Each page gets a new browser context, as on a reader's first visit: nothing (a
    theme choice in localStorage, a cached script) carries over from another page.
    """

    def __init__(self, browser, base_url, color_scheme):
        self.browser = browser
        self.base_url = base_url
        self.color_scheme = color_scheme
        self.reports = {}

    def report(self, name):
        if name not in self.reports:
            self.reports[name] = self._load(self.base_url + name)
        return self.reports[name]

    def _load(self, url):
        context = _new_context(self.browser, self.base_url, self.color_scheme)
        page = context.new_page()
        report = PageReport(url=url)
        watch(page, report.errors)
        try:
            response = page.goto(url, wait_until="load")
            if response is None or not response.ok:
                report.errors.append(f"loading {url} gave HTTP {response and response.status}")
            report.data = page.evaluate(COLLECT_JS, TIMEOUT_MS)
        finally:
            context.close()
        return report


@pytest.fixture(scope="session")
def light(browser, base_url):
    """``light(name) -> PageReport`` of a page (relative to _build/html), light scheme."""
    return _Pages(browser, base_url, "light").report


@pytest.fixture(scope="session")
def dark(browser, base_url):
    """``dark(name) -> PageReport`` of a page viewed with ``prefers-color-scheme: dark``."""
    return _Pages(browser, base_url, "dark").report


@pytest.fixture
def new_page(browser, base_url):
    """A fresh page (light scheme) and the list its errors go to (see :func:`watch`)."""
    context = _new_context(browser, base_url, "light")
    page = context.new_page()
    errors = []
    watch(page, errors)
    yield page, errors
    context.close()


@pytest.fixture(scope="session")
def evaluate(browser, base_url):
    """``evaluate(name, script, width=1280) -> (value, errors)``: load a page (relative to
    _build/html) in a new light-scheme context ``width`` pixels wide, run ``script`` (a
    JavaScript function of the timeout in milliseconds) once it has loaded, and return
    its value with the page's errors (see :func:`watch`)."""

    def run(name, script, width=1280):
        context = _new_context(browser, base_url, "light", width=width)
        page = context.new_page()
        errors = []
        watch(page, errors)
        try:
            page.goto(base_url + name, wait_until="load")
            return page.evaluate(script, TIMEOUT_MS), errors
        finally:
            context.close()

    return run
