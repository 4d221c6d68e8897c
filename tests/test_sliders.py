"""The no-kernel slider figures of rnnlib.sliders: one embedded frame per value, a range
slider, nothing fetched from the network, bad input refused."""
import re

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlib.sliders import SLIDER_CLASS, frame_slider  # noqa: E402


def draw(ax, v):
    ax.plot(np.arange(5) * v)
    ax.set_title(f"v = {v}")


def test_one_embedded_png_frame_per_value_and_a_range_slider():
    s = frame_slider(draw, [1, 2, 3, 4])
    frames = re.findall(r'"data:image/png;base64,([^"]+)"', s.html)
    assert len(frames) == 4 and len(set(frames)) == 4        # four different images
    assert re.search(rf'<input[^>]*type="range"[^>]*class="{SLIDER_CLASS}"', s.html)
    assert s._repr_html_() == s.html and list(s.values) == [1, 2, 3, 4]


def test_the_page_fragment_fetches_nothing():
    html = frame_slider(draw, [1, 2]).html
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.parametrize("args, match", [
    ((draw, [1]), "len\\(values\\) must be an integer in \\[2, 60\\]"),
    ((draw, range(61)), "len\\(values\\)"),
    (("draw", [1, 2]), "draw must be a function"),
])
def test_bad_input_is_refused(args, match):
    with pytest.raises(ValueError, match=match):
        frame_slider(*args)
