"""The page around the chapters: a favicon, one search box and no empty header bar, and
display equations and code that stay inside the text column (scrolling sideways when they
are wider), on a laptop and on a phone. Run after ``make book``::

    python -m pytest -p no:cacheprovider tests/browser
"""
import pytest

# CSS pixels: a laptop window (the width of the other browser tests) and a phone.
WIDTHS = (1280, 480)
# The ICO file signature: reserved 0, type 1 (icon).
ICO_MAGIC = b"\x00\x00\x01\x00"

# Runs in the page once it has loaded (after MathJax has typeset): what the tests assert.
LAYOUT_JS = """
async (timeoutMs) => {
  const startup = window.MathJax && window.MathJax.startup;
  if (startup && startup.promise) {
    await Promise.race([startup.promise, new Promise((r) => setTimeout(r, timeoutMs))]);
  }
  const root = document.querySelector("article.bd-article") || document.querySelector("main");
  const limit = root.getBoundingClientRect().right + 1;
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const name = (el) => {
    const math = el.closest("div.math");
    const text = (math ? math.textContent : el.textContent).trim().replace(/\\s+/g, " ");
    return `<${el.tagName.toLowerCase()}> "${text.slice(0, 60)}"`;
  };
  const out = {overflowing: [], scrolling: []};
  for (const el of root.querySelectorAll('div.math, mjx-container[display="true"], pre')) {
    if (!shown(el)) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      if (scrolls(el)) out.scrolling.push(name(el));
      else out.overflowing.push(`${name(el)} is wider than its box and does not scroll`);
    }
    // Past the column's right edge is fine only inside an ancestor that scrolls and
    // itself ends within the column.
    let contained = el.getBoundingClientRect().right <= limit;
    for (let a = el.parentElement; !contained && a && a !== root; a = a.parentElement) {
      contained = scrolls(a) && a.getBoundingClientRect().right <= limit;
    }
    if (!contained) out.overflowing.push(`${name(el)} runs past the text column`);
  }
  out.pageOverflow = document.scrollingElement.scrollWidth - window.innerWidth;
  const icon = document.querySelector('link[rel~="icon"]');
  out.icon = icon ? icon.href : null;
  const header = document.querySelector("#pst-header");
  out.headerHeight = header && shown(header) ? header.getBoundingClientRect().height : 0;
  out.headerItems = header ? header.querySelectorAll(".navbar-item, .search-button-field").length : 0;
  out.searchFields = Array.from(document.querySelectorAll(".search-button-field, input[type=search]"))
    .filter((el) => shown(el) && el.getBoundingClientRect().width > 0)
    .map((el) => el.closest("[id]") ? el.closest("[id]").id : el.className);
  return out;
}
"""


@pytest.fixture(scope="session")
def layout(evaluate):
    """``layout(name, width)`` -> (what LAYOUT_JS found, the page's errors), cached."""
    reports = {}

    def report(name, width):
        if (name, width) not in reports:
            reports[name, width] = evaluate(name, LAYOUT_JS, width=width)
        return reports[name, width]

    return report


@pytest.mark.parametrize("width", WIDTHS)
def test_equations_and_code_stay_in_the_column(page_name, width, layout):
    data, _ = layout(page_name, width)
    assert data["overflowing"] == [], f"at {width}px:\n" + "\n".join(data["overflowing"])
    # Every page, the API page's autodoc signatures included (they wrap: rnn-primer.css).
    assert data["pageOverflow"] <= 1, (
        f"at {width}px the page scrolls sideways by {data['pageOverflow']}px")


def test_wide_lstm_equations_scroll_on_a_phone(layout):
    # The gate equations of the LSTM chapter do not fit 480px: they must scroll, not be cut
    # (the previous test checks that nothing is cut; this one that the case occurs).
    data, errors = layout("book/lstm.html", 480)
    maths = [s for s in data["scrolling"] if not s.startswith("<pre>")]
    assert maths, f"no display equation of the LSTM chapter scrolls at 480px: {data['scrolling']}"
    assert errors == [], "\n".join(errors)


def test_every_page_links_the_favicon(page_name, layout):
    data, errors = layout(page_name, WIDTHS[0])
    assert data["icon"], "no <link rel=icon> on the page"
    assert not any("favicon" in e for e in errors), "\n".join(errors)


def test_favicon_is_served_at_the_root_and_where_pages_link_it(layout, new_page, base_url):
    page, _ = new_page
    data, _ = layout("book/intro.html", WIDTHS[0])
    for url in sorted({base_url + "favicon.ico", data["icon"]}):
        response = page.request.get(url)
        assert response.status == 200, f"HTTP {response.status} for {url}"
        assert response.body()[:4] == ICO_MAGIC, f"{url} is not an ICO file"


def test_no_empty_header_bar_and_one_search_box(page_name, layout):
    data, _ = layout(page_name, WIDTHS[0])
    assert data["headerHeight"] == 0 and data["headerItems"] == 0, (
        f"a header bar of {data['headerHeight']}px with {data['headerItems']} items is shown")
    assert len(data["searchFields"]) == 1, f"search boxes shown: {data['searchFields']}"
