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


def draw_unrolled(ax, T, inputs=None, outputs=None, title=None):
    r"""Draw the vanilla RNN unrolled in time on ``ax``.

    One column per step t: the input :math:`u_t` at the bottom, the hidden state
    :math:`h_t` in the middle and the output :math:`y_t` on top, joined by arrows labelled
    with the weights :math:`W_{uh}`, :math:`W_{hh}` and :math:`W_{hy}` that every step
    shares; :math:`h_0` sits on the left.

    Parameters
    ----------
    ax : matplotlib Axes
    T : int
        Number of time steps drawn (>= 1).
    inputs, outputs : sequence of bool, length T, optional
        Which steps have an input / an output (default: all). Drawing only some shows
        the one-to-many, many-to-one and many-to-many uses of one network.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive integer; got {T!r}")
    inputs = [True] * T if inputs is None else list(inputs)
    outputs = [True] * T if outputs is None else list(outputs)
    for name, flags in (("inputs", inputs), ("outputs", outputs)):
        if len(flags) != T:
            raise ValueError(f"{name} must have length T={T}; got {len(flags)}")
    colors = {"u": PALETTE[2], "h": PALETTE[0], "y": PALETTE[1]}
    w, hgt = 0.5, 0.36

    def box(x, y, text, kind):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - hgt / 2), w, hgt,
                                    boxstyle="round,pad=0.03", facecolor=colors[kind],
                                    alpha=0.2, edgecolor=colors[kind], linewidth=1.5))
        ax.text(x, y, text, ha="center", va="center", fontsize=11)

    def arrow(p, q, label, side):
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=12,
                                     color="0.25", linewidth=1.2, shrinkA=0, shrinkB=0))
        mx, my = (p[0] + q[0]) / 2, (p[1] + q[1]) / 2
        dx, dy = (0.0, 0.13) if side == "above" else (0.2, 0.0)
        ax.text(mx + dx, my + dy, label, ha="center", va="center", fontsize=8,
                color="0.25")

    box(0, 1, r"$h_0$", "h")
    for t in range(1, T + 1):
        box(t * 1.2, 1, rf"$h_{{{t}}}$", "h")
        left = 0 if t == 1 else (t - 1) * 1.2
        arrow((left + w / 2 + 0.03, 1), (t * 1.2 - w / 2 - 0.03, 1), r"$W_{hh}$", "above")
        if inputs[t - 1]:
            box(t * 1.2, 0, rf"$u_{{{t}}}$", "u")
            arrow((t * 1.2, hgt / 2 + 0.03), (t * 1.2, 1 - hgt / 2 - 0.03), r"$W_{uh}$",
                  "right")
        if outputs[t - 1]:
            box(t * 1.2, 2, rf"$y_{{{t}}}$", "y")
            arrow((t * 1.2, 1 + hgt / 2 + 0.03), (t * 1.2, 2 - hgt / 2 - 0.03),
                  r"$W_{hy}$", "right")
    ax.set_xlim(-0.5, T * 1.2 + 0.5)
    ax.set_ylim(-0.4, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def plot_state_heatmap(ax, h, title="Hidden states over time", cmap="RdBu_r",
                       colorbar_label=r"activation $h_{t,j}$"):
    r"""Show the hidden states of one sequence as a heatmap, hidden units x time.

    Parameters
    ----------
    ax : matplotlib Axes
    h : ndarray, shape (T, H)
        The states :math:`h_1, \dots, h_T` of one sequence (e.g. ``h[0]`` of
        :func:`rnnlib.rnn.rnn_forward`).
    title : str
    cmap : str
        A diverging colormap centred on 0 suits tanh units.
    colorbar_label : str

    Returns
    -------
    image : matplotlib AxesImage
    """
    import numpy as np

    h = np.asarray(h)
    if h.ndim != 2:
        raise ValueError(f"h must have shape (T, H) (one sequence); got {h.shape}")
    vmax = float(np.max(np.abs(h))) or 1.0
    T, H = h.shape
    image = ax.imshow(h.T, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax,
                      origin="lower", interpolation="nearest",
                      extent=(0.5, T + 0.5, -0.5, H - 0.5))
    ax.grid(False)
    ax.set_xlabel("time step $t$")
    ax.set_ylabel("hidden unit $j$")
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    return image
