"""The figure helpers: no side effects on import, the style applies, the drawings hold
what they claim."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnlib import plotting  # noqa: E402


def test_importing_rnnlib_changes_no_matplotlib_setting():
    code = ("import matplotlib as mpl; before = dict(mpl.rcParams); "
            "import rnnlib, rnnlib.plotting; "
            "changed = [k for k in before if before[k] != mpl.rcParams[k]]; "
            "assert not changed, changed")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_use_style_applies_the_book_style():
    with matplotlib.rc_context():
        plotting.use_style()
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["savefig.dpi"] == 200


def test_draw_unrolled_draws_one_box_per_state_input_and_output():
    fig, ax = plt.subplots()
    plotting.draw_unrolled(ax, 3, inputs=[True, False, False], outputs=[False, False, True])
    labels = [t.get_text() for t in ax.texts]
    assert {"$h_0$", "$h_{1}$", "$h_{3}$", "$u_{1}$", "$y_{3}$"} <= set(labels)
    assert "$u_{2}$" not in labels and "$y_{1}$" not in labels
    plt.close(fig)


def test_draw_unrolled_rejects_bad_arguments():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="T must be a positive integer"):
        plotting.draw_unrolled(ax, 0)
    with pytest.raises(ValueError, match="inputs must have length T=2"):
        plotting.draw_unrolled(ax, 2, inputs=[True])
    plt.close(fig)


def test_plot_state_heatmap_shows_units_by_time():
    fig, ax = plt.subplots()
    h = np.linspace(-1, 1, 20).reshape(5, 4)  # T=5, H=4
    plotting.plot_state_heatmap(ax, h)
    image = ax.images[0].get_array()
    assert image.shape == (4, 5)  # hidden units down, time across
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)
