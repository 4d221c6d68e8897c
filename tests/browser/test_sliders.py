"""The no-kernel counterparts of the ipywidgets explorers: moving the slider changes the
figure in the rendered page (chapters difficulties and esn)."""
import pytest

from rnnlib.sliders import SLIDER_CLASS

PAGES = ["book/difficulties.html", "book/esn.html"]


@pytest.mark.parametrize("slider_page", PAGES)
def test_moving_the_slider_changes_the_figure(slider_page, new_page, base_url, html_dir):
    page, errors = new_page
    page.goto(base_url + slider_page, wait_until="load")
    sliders = page.locator(f"input.{SLIDER_CLASS}")
    assert sliders.count() >= 1, f"no slider figure on {slider_page}"
    slider = sliders.first
    slider.scroll_into_view_if_needed()
    frames = int(slider.get_attribute("max")) + 1
    assert frames >= 5
    img = page.locator("div.animation img").first
    seen = []
    for value in (0, frames // 2, frames - 1):
        slider.evaluate("(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }",
                        value)
        seen.append(img.get_attribute("src"))
    assert len(set(seen)) == 3, "the figure did not change with the slider"
    assert all(s.startswith("data:image/png") for s in seen)
    assert errors == [], "\n".join(errors)
