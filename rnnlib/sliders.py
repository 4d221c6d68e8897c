r"""Figures with a slider that work without a kernel: the rendered book's counterpart of
an ipywidgets explorer.

In a running notebook an explorer (``ipywidgets.interact``) recomputes its figure when a
slider moves; in the HTML book there is no kernel to do that. :func:`frame_slider`
computes the figure for a grid of slider values in advance and returns a self-contained
HTML animation (matplotlib's JavaScript export, ``matplotlib.animation.Animation.to_jshtml``):
the frames are PNG images embedded in the page and a range slider picks one, with no
kernel and nothing fetched from the network.
"""
import re

import numpy as np

from ._validation import check_int

#: The CSS class of the slider of matplotlib's JavaScript animation export, which the
#: browser tests look for.
SLIDER_CLASS = "anim-slider"


class FrameSlider:
    """A precomputed figure with a slider (what :func:`frame_slider` returns).

    Displayed in Jupyter (and by the book build) as its HTML. Attributes: ``values``,
    the slider's values, and ``html``, the self-contained page fragment.
    """

    def __init__(self, values, html):
        self.values, self.html = values, html

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return f"FrameSlider({len(self.values)} frames)"


def frame_slider(draw, values, figsize=(6.4, 3.4), dpi=80):
    """Precompute ``draw(ax, value)`` for each value and return a slider over the frames.

    Parameters
    ----------
    draw : callable
        ``draw(ax, value)`` draws one frame on a cleared matplotlib Axes; it should put
        the value in the title, since the slider shows only the frame number.
    values : sequence
        The slider's values, in order (at least 2, at most 60: each frame is an image
        embedded in the page).
    figsize : tuple of float
    dpi : int
        Resolution of the frames (the page grows with it).

    Returns
    -------
    FrameSlider
        Shown as HTML with a play button and a range slider (CSS class
        :data:`SLIDER_CLASS`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    if not callable(draw):
        raise ValueError(f"draw must be a function draw(ax, value); got {type(draw).__name__}")
    values = list(values)
    check_int("len(values)", len(values), low=2, high=60)
    dpi = check_int("dpi", dpi, low=20, high=300)
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)

    def update(i):
        ax.clear()
        draw(ax, values[i])
        return []

    try:
        anim = FuncAnimation(fig, update, frames=len(values), interval=700, blit=False,
                             repeat=False)
        html = anim.to_jshtml(default_mode="once")
    finally:
        plt.close(fig)
    # matplotlib links its buttons' icon font from a CDN; the book fetches nothing from
    # the network (its theme ships Font Awesome, which draws the same icons).
    html = re.sub(r'<link[^>]*href="https?://[^"]*"[^>]*>', "", html)
    return FrameSlider(np.array(values, dtype=object), html)
