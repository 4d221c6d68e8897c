"""Print the single-page HTML build of the book to one PDF with headless Chromium.

``make pdf`` runs this after ``jupyter-book build . --builder singlehtml``, which
writes the whole book as one page to ``_build/singlehtml`` from the same execution
cache as ``make book`` (no chapter is executed again)::

    python scripts/build_pdf.py [--html-dir _build/singlehtml] [--output _build/pdf/rnn-primer.pdf]

The page is served from 127.0.0.1 (as in the browser tests, ``tests/browser``) and
opened in Debian's ``/usr/bin/chromium``, driven by Playwright; every request to another
host is blocked, so the PDF is made offline. Before printing, the script waits for
MathJax to typeset every formula and for every image to load, opens the hidden
solutions and cells (a reader of paper cannot click them), and checks the page: an
untypeset formula, raw ``$...$`` in the text, a MathJax error, a broken image, a failed
request or a JavaScript error stops it with a message, and no PDF is written.
The print stylesheet of the theme hides the navigation; ``PRINT_CSS`` below starts
each chapter on a new page and wraps long code lines instead of cutting them off.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from local_server import CHROMIUM_ARGS, serve

REPO = Path(__file__).resolve().parents[1]

# Added to the page before printing, on top of the theme's own print stylesheet.
PRINT_CSS = """
@media print {
  /* navigation, buttons and the "on this page" box mean nothing on paper */
  .bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
  .prev-next-area, .bd-footer, .bd-footer-article, .bd-footer-content,
  .toggle-button, .copybtn, .headerlink, #pst-back-to-top, .skip-link { display: none !important; }
  .bd-main .bd-content, .bd-article-container, .bd-article { margin: 0 !important; padding: 0 !important;
    max-width: none !important; }
  /* the title and contents on the first page, then every chapter on a new page; the
     theme hides the first h1 of a page in print, which here is every chapter's title */
  #jb-print-docs-body { break-after: page; }
  span[id^="document-"] + section { break-before: page; }
  .bd-main .bd-content .bd-article section > h1:first-of-type { display: block !important; }
  h1, h2, h3, h4 { break-after: avoid; }
  /* a code cell's input stays in one piece (cells are short), so its frame is not
     left behind empty at the foot of a page */
  .cell_input { break-inside: avoid; }
  /* long code lines and outputs wrap instead of running off the page */
  pre { white-space: pre-wrap !important; overflow: visible !important; word-break: break-word; }
  .cell_output, .output { max-height: none !important; overflow: visible !important; }
  img, figure, .cell_output img { max-width: 100% !important; height: auto; break-inside: avoid; }
  mjx-container[display="true"] { break-inside: avoid; overflow: visible !important; }
}
"""

# Runs in the page once it has loaded: reveals hidden content, waits for MathJax, the
# images and the fonts, and reports what would make the PDF wrong.
PREPARE_JS = """
async (timeoutMs) => {
  const within = (promise, what) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(what + " timed out")), timeoutMs))]);
  const out = {errors: []};
  // Collapsed content: <details> (sphinx-design dropdowns, hide-cell) and the
  // toggle buttons of sphinx-togglebutton (dropdown admonitions).
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  const startup = window.MathJax && window.MathJax.startup;
  if (!(startup && startup.promise)) {
    out.errors.push("MathJax did not load");
  } else {
    try { await within(startup.promise, "MathJax"); } catch (e) { out.errors.push(String(e)); }
  }
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { img.loading = "eager"; });
  await Promise.allSettled(imgs.map((img) => within(img.decode(), "image " + img.src)));
  imgs.filter((img) => !img.complete || img.naturalWidth === 0)
    .forEach((img) => out.errors.push("image did not load: " + (img.currentSrc || img.src)));
  await within(document.fonts.ready, "fonts");

  const root = document.querySelector("article.bd-article") || document.body;
  const maths = Array.from(root.querySelectorAll(".math"));
  out.mathCount = maths.length;
  out.mjxCount = root.querySelectorAll("mjx-container").length;
  out.imageCount = imgs.length;
  maths.filter((m) => !m.querySelector("mjx-container"))
    .forEach((m) => out.errors.push("formula not typeset: " + m.textContent.trim().slice(0, 80)));
  root.querySelectorAll("mjx-merror").forEach((e) => out.errors.push(
    "MathJax error: " + (e.getAttribute("data-mjx-error") || e.textContent).slice(0, 120)));
  // Text that MathJax should have typeset and did not: $...$, $$, \\( \\[ \\begin{.
  const raw = /\\$[^$\\s][^$]*\\$|\\$\\$|\\\\\\(|\\\\\\[|\\\\begin\\{/;
  const skip = "pre, code, .pre, .sig, script, style, textarea, mjx-container, .highlight, .output";
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (raw.test(node.nodeValue) && !node.parentElement.closest(skip)) {
      out.errors.push("raw math in the text: " + node.nodeValue.trim().slice(0, 120));
    }
  }
  return out;
}
"""

FOOTER = (
    '<div style="width: 100%; font-size: 8px; color: #555; text-align: center;">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def book_page(html_dir):
    """Path, relative to ``html_dir``, of the page that holds the whole book.

    The singlehtml builder writes the book to the page of its root document
    (``book/intro.html``), and ``index.html`` redirects to it. That page's links are
    relative to ``html_dir`` itself (``_static/...``, ``_images/...``), so
    :func:`print_pdf` serves it as ``index.html``.
    """
    index = html_dir / "index.html"
    if not index.is_file():
        raise SystemExit(f"error: no {index}; build the single-page book first "
                         "(jupyter-book build . --builder singlehtml), or run make pdf")
    redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', index.read_text(), re.I)
    return redirect.group(1) if redirect else "index.html"


def print_pdf(html_dir, output, chromium="/usr/bin/chromium", timeout_s=180.0):
    """Print the single-page book in ``html_dir`` to the PDF file ``output``.

    Parameters
    ----------
    html_dir : pathlib.Path
        Output of the ``singlehtml`` builder (holds ``index.html`` and ``_static``).
    output : pathlib.Path
        The PDF to write; its folder is created.
    chromium : str
        The Chromium executable Playwright drives.
    timeout_s : float
        Seconds allowed for loading the page and for MathJax, each.

    Returns
    -------
    dict
        What the page showed: ``mathCount``, ``mjxCount``, ``imageCount``.

    Raises
    ------
    SystemExit
        When the page is not fit to print (see the module docstring); no PDF is written.
    """
    from playwright.sync_api import sync_playwright

    name = book_page(html_dir)
    if not Path(chromium).is_file():
        raise SystemExit(f"error: no Chromium at {chromium}: run .ci/install-browser (as root)")
    errors = []
    with serve(html_dir) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            # A light page (the book follows the system's color scheme) in print layout.
            context = browser.new_context(color_scheme="light")
            context.set_default_timeout(timeout_s * 1000)
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith((base_url, "data:"))
                          else route.abort("blockedbyclient"))
            # (the route added last is tried first) The singlehtml builder writes no
            # search index, which the theme's page loads all the same: an empty one.
            context.route(base_url + "searchindex.js", lambda route: route.fulfill(
                body="", content_type="text/javascript"))
            context.route(base_url + "index.html", lambda route: route.fulfill(
                path=html_dir / name, content_type="text/html; charset=utf-8"))
            page = context.new_page()
            page.on("console", lambda msg: msg.type == "error" and errors.append(
                f"console error: {msg.text}"))
            page.on("pageerror", lambda exc: errors.append(f"uncaught exception: {exc}"))
            page.on("requestfailed", lambda req: errors.append(
                f"request failed ({req.failure}): {req.url}"))
            response = page.goto(base_url + "index.html", wait_until="load")
            if response is None or not response.ok:
                errors.append(f"loading {name} gave HTTP {response and response.status}")
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            report = page.evaluate(PREPARE_JS, timeout_s * 1000)
            errors.extend(report.pop("errors"))
            if errors:
                raise SystemExit("error: the page is not fit to print, no PDF written:\n  "
                                 + "\n  ".join(errors))
            output.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=output, format="A4", print_background=True, outline=True, tagged=True,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
                     display_header_footer=True, header_template="<span></span>",
                     footer_template=FOOTER)
        finally:
            browser.close()
    return report


def count_pages(pdf):
    """Number of pages of a PDF written by Chromium (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html-dir", type=Path, default=REPO / "_build" / "singlehtml",
                        help="output of the singlehtml builder (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=REPO / "_build" / "pdf" / "rnn-primer.pdf",
                        help="the PDF to write (default: %(default)s)")
    parser.add_argument("--chromium", default="/usr/bin/chromium",
                        help="the Chromium executable (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=180.0,
                        help="seconds for loading the page and for MathJax (default: %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    report = print_pdf(args.html_dir.resolve(), args.output.resolve(), args.chromium, args.timeout)
    size_mb = args.output.stat().st_size / 1e6
    print(f"Wrote {args.output} ({count_pages(args.output)} pages, {size_mb:.1f} MB; "
          f"{report['mjxCount']} formulas, {report['imageCount']} images) "
          f"in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
