"""Figure style and small plotting helpers shared by every chapter.

matplotlib is imported here only, so ``import rnnlib`` works without it. Nothing
changes matplotlib's settings until :func:`use_style` is called.
"""
import matplotlib as mpl

#: The book's palette, readable on light and dark page backgrounds.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
}


def use_style():
    """Apply the book's matplotlib style (white figure background, so every figure
    stays readable in both the light and the dark theme of the rendered book)."""
    mpl.rcParams.update(STYLE)
    try:  # crisp figures in notebooks and in the rendered HTML
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("png2x")
    except ImportError:
        pass
