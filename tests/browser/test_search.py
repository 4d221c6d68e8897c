"""The search page of the built book finds the chapters that discuss a term."""
from urllib.parse import urlsplit

# The chapters that define and use the spectral radius.
SPECTRAL_RADIUS_CHAPTERS = ("book/esn.html", "book/difficulties.html")


def test_search_finds_spectral_radius(new_page, base_url):
    page, errors = new_page
    page.goto(base_url + "search.html?q=spectral+radius")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for()
    # Sphinx appends results while it scores the pages: wait for its summary line.
    page.locator("#search-results p.search-summary").wait_for()
    pages = {urlsplit(href).path.removeprefix(urlsplit(base_url).path)
             for href in results.evaluate_all("links => links.map((a) => a.href)")}
    assert pages & set(SPECTRAL_RADIUS_CHAPTERS), f"'spectral radius' found only on {sorted(pages)}"
    assert errors == [], "\n".join(errors)
