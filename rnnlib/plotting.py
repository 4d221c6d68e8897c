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
    :math:`h_t` in the middle and the output :math:`y_t` on top, joined by arrows labeled
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

    from rnnlib._validation import check_int

    _check_axes(ax)
    T = check_int("T", T)
    _check_title(title)
    inputs = [True] * T if inputs is None else _check_flags("inputs", inputs, T)
    outputs = [True] * T if outputs is None else _check_flags("outputs", outputs, T)
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
        A diverging colormap centered on 0 suits tanh units.
    colorbar_label : str

    Returns
    -------
    image : matplotlib AxesImage
    """
    import numpy as np

    from rnnlib._validation import ArgumentTypeError, check_array, check_choice

    _check_axes(ax)
    check_array("h", h, ndim=2)
    if 0 in h.shape:
        raise ValueError(f"h must have shape (T, H) (one sequence) with T, H >= 1; got "
                         f"{h.shape}")
    check_choice("cmap", cmap, list(mpl.colormaps))
    for name, text in (("title", title), ("colorbar_label", colorbar_label)):
        if not isinstance(text, str):
            raise ArgumentTypeError(f"{name} must be a string; got {type(text).__name__}")
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


# --- concept diagrams -----------------------------------------------------------------
#
# The diagrams below share the look of draw_unrolled: rounded boxes tinted with the
# palette, grey arrows, math labels. Every patch they add carries a gid naming its role
# ("box:...", "gate:...", "op:mul", "op:add", "arrow", "error:s:k", "highway", ...), so
# a test (or a reader) can find the parts of a figure again.

#: The color of the gradient highway (the LSTM's cell state, the GRU's z-path).
HIGHWAY_COLOR = PALETTE[3]


def _check_axes(ax):
    from matplotlib.axes import Axes

    from rnnlib._validation import ArgumentTypeError

    if not isinstance(ax, Axes):
        raise ArgumentTypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()); "
                                f"got {type(ax).__name__}")
    return ax


def _check_title(title):
    from rnnlib._validation import ArgumentTypeError

    if title is not None and not isinstance(title, str):
        raise ArgumentTypeError(f"title must be a string or None; got {type(title).__name__}")
    return title


def _box(ax, x, y, text, color, w=0.5, h=0.36, gid="box", fontsize=11, alpha=0.2):
    """A rounded box centered on (x, y) with ``text`` in it."""
    from matplotlib.patches import FancyBboxPatch

    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                           facecolor=color, alpha=alpha, edgecolor=color, linewidth=1.5)
    patch.set_gid(gid)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return patch


def _node(ax, x, y, kind, r=0.17):
    """A small circle holding an element-wise product (``kind="mul"``), a sum ("add") or
    another one-argument operation (any other text, e.g. ``"tanh"``, ``"1-"``)."""
    from matplotlib.patches import Circle

    symbol = {"mul": r"$\odot$", "add": r"$+$"}.get(kind, kind)
    patch = Circle((x, y), r, facecolor="white", edgecolor="0.25", linewidth=1.2, zorder=3)
    patch.set_gid(f"op:{kind}")
    ax.add_patch(patch)
    ax.text(x, y, symbol, ha="center", va="center", fontsize=10 if kind in ("mul", "add") else 7,
            zorder=4)
    return patch


def _arrow(ax, p, q, color="0.25", lw=1.2, gid="arrow", style="-|>", ls="-", zorder=2):
    from matplotlib.patches import FancyArrowPatch

    patch = FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=12, color=color,
                            linewidth=lw, linestyle=ls, shrinkA=0, shrinkB=0, zorder=zorder)
    patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def _line(ax, xs, ys, color="0.25", lw=1.2, gid="line", zorder=1, **kw):
    (line,) = ax.plot(xs, ys, color=color, linewidth=lw, solid_capstyle="round",
                      zorder=zorder, **kw)
    line.set_gid(gid)
    return line


def _finish(ax, xlim, ylim, title):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


def _gate(ax, x, y, name, fn, color):
    """A gate or candidate block: a box with its name and, under it, its squashing."""
    _box(ax, x, y, name, color, w=0.62, h=0.42, gid=f"gate:{name}")
    ax.text(x, y - 0.36, fn, ha="center", va="top", fontsize=7, color="0.35")


def _state_path(ax, y, start, end, color, highway, caption):
    """The state's path across a gated cell at height ``y``: the boxes ``start`` and
    ``end`` (label, gid) and the line between them, drawn thick in HIGHWAY_COLOR with
    ``caption`` above it when ``highway``."""
    line_color = HIGHWAY_COLOR if highway else "0.25"
    _box(ax, 0.4, y, start[0], color, w=0.7, gid=start[1])
    _box(ax, 9.6, y, end[0], color, w=0.7, gid=end[1])
    _line(ax, [0.75, 9.25], [y, y], color=line_color, lw=5 if highway else 1.2,
          gid="highway" if highway else "line", alpha=0.55 if highway else 1)
    _arrow(ax, (9.0, y), (9.25, y), color=line_color)
    if highway:
        ax.text(5.0, y + 0.42, caption, ha="center", va="bottom", fontsize=8,
                color=HIGHWAY_COLOR)


def draw_lstm_cell(ax, title=None, highway=True):
    r"""Draw one LSTM cell (the step of :func:`rnnlib.lstm.lstm_step_forward`) on ``ax``.

    The input :math:`u_t` and the previous output :math:`h_{t-1}` feed four blocks, the
    gates :math:`i_t, f_t, o_t = \sigma(\cdot)` and the candidate :math:`g_t =
    \tanh(\cdot)` (each the affine map :math:`u_t W_{uh} + h_{t-1} W_{hh} + b` restricted
    to its block). Circles are the element-wise products (:math:`\odot`) and the sum of

    .. math:: c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).

    The path of the cell state from :math:`c_{t-1}` to :math:`c_t`, which the error
    follows backwards multiplied only by :math:`f_t`, is the thick coloured line, the
    "gradient highway".

    Parameters
    ----------
    ax : matplotlib Axes
    title : str, optional
    highway : bool
        Mark the cell-state path (default True); False draws it as a plain line.

    Returns
    -------
    ax : matplotlib Axes
    """
    from rnnlib._validation import check_bool

    _check_axes(ax)
    _check_title(title)
    highway = check_bool("highway", highway)
    c_col, h_col, u_col, gate_col = PALETTE[3], PALETTE[0], PALETTE[2], PALETTE[4]
    top, gates_y, bus = 4.4, 2.3, 1.1
    # the cell state: c_{t-1} -> (x f) -> (+ i g) -> c_t
    _state_path(ax, top, (r"$c_{t-1}$", "box:c_prev"), (r"$c_t$", "box:c"), c_col, highway,
                r"cell state: the gradient highway, $\partial c_t/\partial c_{t-1}"
                r" = \mathrm{diag}(f_t)$")
    _node(ax, 3.0, top, "mul")
    _node(ax, 4.8, top, "add")
    # inputs: h_{t-1} from the left, u_t from below, joined on one bus
    _box(ax, 0.4, bus, r"$h_{t-1}$", h_col, w=0.7, gid="box:h_prev")
    _box(ax, 1.6, 0.0, r"$u_t$", u_col, gid="box:u")
    _line(ax, [0.75, 7.2], [bus, bus])
    _arrow(ax, (1.6, 0.21), (1.6, bus))
    ax.text(7.3, bus, r"$[u_t,\,h_{t-1}]$", ha="left", va="center", fontsize=8, color="0.35")
    # the four blocks, each fed from the bus
    xs = {"f": 3.0, "i": 4.2, "g": 5.4, "o": 6.8}
    for name, fn in (("f", r"$\sigma$"), ("i", r"$\sigma$"), ("g", r"$\tanh$"), ("o", r"$\sigma$")):
        _gate(ax, xs[name], gates_y, rf"${name}_t$", fn, gate_col if name != "g" else u_col)
        _arrow(ax, (xs[name], bus), (xs[name], gates_y - 0.24 - 0.2))
    # f_t -> product on the cell line
    _arrow(ax, (xs["f"], gates_y + 0.24), (xs["f"], top - 0.17))
    # i_t * g_t -> sum on the cell line
    _node(ax, 4.8, 3.35, "mul")
    _arrow(ax, (xs["i"], gates_y + 0.24), (4.8 - 0.14, 3.35 - 0.1))
    _arrow(ax, (xs["g"], gates_y + 0.24), (4.8 + 0.14, 3.35 - 0.1))
    _arrow(ax, (4.8, 3.35 + 0.17), (4.8, top - 0.17))
    # c_t -> tanh -> (x o_t) -> h_t
    _node(ax, 8.2, 3.35, r"$\tanh$", r=0.26)
    _arrow(ax, (8.2, top), (8.2, 3.35 + 0.26))
    _node(ax, 8.2, gates_y, "mul")
    _arrow(ax, (8.2, 3.35 - 0.26), (8.2, gates_y + 0.17))
    _arrow(ax, (xs["o"] + 0.34, gates_y), (8.2 - 0.17, gates_y))
    _box(ax, 9.6, gates_y, r"$h_t$", h_col, w=0.7, gid="box:h")
    _arrow(ax, (8.2 + 0.17, gates_y), (9.6 - 0.38, gates_y))
    return _finish(ax, (-0.2, 10.2), (-0.4, 5.2), title)


def draw_gru_cell(ax, title=None, highway=True):
    r"""Draw one GRU cell (the step of :func:`rnnlib.gru.gru_step_forward`) on ``ax``.

    The reset gate :math:`r_t` and the update gate :math:`z_t` (both :math:`\sigma`) and
    the candidate :math:`n_t` (:math:`\tanh`) are fed by the input :math:`u_t` and the
    previous state :math:`h_{t-1}`; the reset gate multiplies the recurrent part of the
    candidate (the PyTorch form that rnnlib implements), and

    .. math:: h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.

    The thick coloured line is the path :math:`h_{t-1} \to z_t \odot h_{t-1} \to h_t`,
    the GRU's gradient highway: with :math:`z_t \approx 1` the state and the error pass
    unchanged.

    Parameters
    ----------
    ax : matplotlib Axes
    title : str, optional
    highway : bool
        Mark the highway (default True).

    Returns
    -------
    ax : matplotlib Axes
    """
    from rnnlib._validation import check_bool

    _check_axes(ax)
    _check_title(title)
    highway = check_bool("highway", highway)
    h_col, u_col, gate_col = PALETTE[0], PALETTE[2], PALETTE[4]
    top, gates_y, bus, mix = 4.4, 2.3, 1.1, 3.35
    _state_path(ax, top, (r"$h_{t-1}$", "box:h_prev"), (r"$h_t$", "box:h"), h_col, highway,
                r"the gradient highway: $\partial h_t/\partial h_{t-1} \ni "
                r"\mathrm{diag}(z_t)$")
    _node(ax, 2.4, top, "mul")
    _node(ax, 7.4, top, "add")
    # h_{t-1} down to the bus, u_t up to it
    _line(ax, [0.4, 0.4], [top - 0.21, bus])
    _line(ax, [0.4, 6.6], [bus, bus])
    _box(ax, 1.4, 0.0, r"$u_t$", u_col, gid="box:u")
    _arrow(ax, (1.4, 0.21), (1.4, bus))
    ax.text(6.7, bus, r"$[u_t,\,h_{t-1}]$", ha="left", va="center", fontsize=8, color="0.35")
    # gates z, r and the candidate n
    xz, xr, xreset, xn = 2.4, 3.8, 5.2, 6.6
    _gate(ax, xz, gates_y, r"$z_t$", r"$\sigma$", gate_col)
    _gate(ax, xr, gates_y, r"$r_t$", r"$\sigma$", gate_col)
    _gate(ax, xn, gates_y, r"$n_t$", r"$\tanh$", u_col)
    for x in (xz, xr, xn):
        _arrow(ax, (x, bus), (x, gates_y - 0.44))
    # reset gate times the recurrent product h_{t-1} W_hn + b_hn, into the candidate
    _node(ax, xreset, gates_y, "mul")
    _arrow(ax, (xreset, bus), (xreset, gates_y - 0.17))
    ax.text(xreset + 0.06, (bus + gates_y) / 2 - 0.15, r"$h_{t-1}W_{hn}$", ha="left",
            va="center", fontsize=6, color="0.35")
    _arrow(ax, (xr + 0.34, gates_y), (xreset - 0.17, gates_y))
    _arrow(ax, (xreset + 0.17, gates_y), (xn - 0.34, gates_y))
    # z_t -> product with h_{t-1} on the top line; 1 - z_t -> product with n_t
    _arrow(ax, (xz, gates_y + 0.24), (xz, top - 0.17))
    _node(ax, 3.6, mix, r"$1-$", r=0.22)
    _arrow(ax, (xz + 0.1, gates_y + 0.24), (3.6 - 0.17, mix - 0.14))
    _node(ax, 7.4, mix, "mul")
    _arrow(ax, (3.6 + 0.22, mix), (7.4 - 0.17, mix))
    _arrow(ax, (xn + 0.2, gates_y + 0.24), (7.4 - 0.12, mix - 0.12))
    _arrow(ax, (7.4, mix + 0.17), (7.4, top - 0.17))
    return _finish(ax, (-0.2, 10.2), (-0.4, 5.2), title)


def _step_colors(n):
    """``n`` distinct colors, one per time step: the palette, or viridis beyond it."""
    if n <= len(PALETTE):
        return list(PALETTE[:n])
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["viridis"]
    return [to_hex(cmap(k / (n - 1) * 0.9)) for k in range(n)]


def draw_bptt(ax, T, truncate=None, title=None, legend=True):
    r"""Draw the backward pass of BPTT through the unrolled network on ``ax``.

    The states :math:`h_0, \dots, h_T` in a row (forward arrows :math:`W_{hh}` in grey),
    a loss :math:`L_t` over each :math:`h_t`. The error that :math:`L_t` injects at step
    :math:`t` travels back through :math:`h_{t-1}, h_{t-2}, \dots` (each arrow one
    multiplication by the Jacobian :math:`\partial h_k/\partial h_{k-1}`); every source
    :math:`t` gets its own color and its own lane under the states, so the figure shows
    that :math:`\partial L/\partial h_k = \sum_{t \ge k}` (the errors of the lanes that
    reach :math:`h_k`).

    Parameters
    ----------
    ax : matplotlib Axes
    T : int
        Number of time steps (1 to 12).
    truncate : int, optional
        Truncated BPTT with horizon :math:`k` = ``truncate``: the error from :math:`L_t`
        reaches only the :math:`k` states :math:`h_t, \dots, h_{t-k+1}` (default: all
        of them, down to :math:`h_0`).
    title : str, optional
    legend : bool
        Add a legend "error from L_t" per color (default True).

    Returns
    -------
    ax : matplotlib Axes
        The arrow of the error from source ``t`` into state ``k`` has the gid
        ``"error:t:k"`` and the color of ``t``.
    """
    from matplotlib.lines import Line2D

    from rnnlib._validation import check_bool, check_int

    _check_axes(ax)
    T = check_int("T", T, low=1, high=12)
    if truncate is not None:
        truncate = check_int("truncate", truncate, low=1)
    _check_title(title)
    legend = check_bool("legend", legend)
    colors = _step_colors(T)
    dx, w, hgt = 1.2, 0.5, 0.36
    for k in range(T + 1):
        _box(ax, k * dx, 1, rf"$h_{{{k}}}$", PALETTE[0], gid=f"box:h{k}")
        if k:
            _arrow(ax, ((k - 1) * dx + w / 2 + 0.03, 1 + 0.08), (k * dx - w / 2 - 0.03, 1 + 0.08),
                   color="0.6", lw=1.0, gid="forward")
    lane0, lane_gap = 1 - hgt / 2 - 0.14, 0.13
    for t in range(1, T + 1):
        col = colors[t - 1]
        _box(ax, t * dx, 2, rf"$L_{{{t}}}$", col, gid=f"box:L{t}")
        _arrow(ax, (t * dx, 2 - hgt / 2 - 0.03), (t * dx, 1 + hgt / 2 + 0.03), color=col,
               lw=1.8, gid=f"error:{t}:{t}")
        y = lane0 - (t - 1) * lane_gap
        stop = 0 if truncate is None else max(0, t - truncate + 1)
        if stop < t:
            _line(ax, [t * dx, t * dx], [1 - hgt / 2, y], color=col, lw=1.8, gid=f"lane:{t}")
        for k in range(t, stop, -1):
            _arrow(ax, (k * dx, y), ((k - 1) * dx, y), color=col, lw=1.8,
                   gid=f"error:{t}:{k - 1}")
    bottom = lane0 - (T - 1) * lane_gap - 0.25
    ax.text(0.5 * T * dx, bottom,
            r"$\partial L/\partial h_k$ = sum of the errors that reach $h_k$"
            + ("" if truncate is None else f" (truncated BPTT, horizon k = {truncate})"),
            ha="center", va="top", fontsize=8, color="0.25")
    if legend:
        handles = [Line2D([], [], color=colors[t - 1], lw=1.8, label=rf"error from $L_{{{t}}}$")
                   for t in range(1, T + 1)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _finish(ax, (-0.5, T * dx + 0.5), (bottom - 0.4, 2.4), title)


def draw_stacked(ax, T, layers=2, title=None):
    r"""Draw a stacked (deep) RNN unrolled in time on ``ax``: depth x time.

    Layer :math:`\ell` has states :math:`h^{(\ell)}_t`, its own recurrent weights (arrows
    to the right) and takes the states of layer :math:`\ell - 1` as its input (arrows
    up); the inputs :math:`u_t` are layer 0 and the outputs :math:`y_t` read the top layer.

    Parameters
    ----------
    ax : matplotlib Axes
    T : int
        Number of time steps (1 to 12).
    layers : int
        Number of recurrent layers (1 to 6).
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    from rnnlib._validation import check_int

    _check_axes(ax)
    T = check_int("T", T, low=1, high=12)
    layers = check_int("layers", layers, low=1, high=6)
    _check_title(title)
    dx, dy, w, hgt = 1.2, 1.0, 0.56, 0.36
    for t in range(1, T + 1):
        x = t * dx
        _box(ax, x, 0, rf"$u_{{{t}}}$", PALETTE[2], w=w, gid="box:u")
        for ell in range(1, layers + 1):
            y = ell * dy
            _box(ax, x, y, rf"$h^{{({ell})}}_{{{t}}}$", PALETTE[(ell - 1) % 2 * 4], w=w,
                 gid=f"box:h{ell}")
            _arrow(ax, (x, y - dy + hgt / 2 + 0.03), (x, y - hgt / 2 - 0.03))
            if t > 1:
                _arrow(ax, (x - dx + w / 2 + 0.03, y), (x - w / 2 - 0.03, y))
        top = (layers + 1) * dy
        _box(ax, x, top, rf"$y_{{{t}}}$", PALETTE[1], w=w, gid="box:y")
        _arrow(ax, (x, top - dy + hgt / 2 + 0.03), (x, top - hgt / 2 - 0.03))
    for ell in range(1, layers + 1):
        ax.text(dx - w / 2 - 0.15, ell * dy, f"layer {ell}", ha="right", va="center",
                fontsize=8, color="0.35")
    _arrow(ax, (dx, -0.55), (T * dx, -0.55), color="0.5", lw=0.8, gid="axis")
    ax.text((T + 1) * dx / 2, -0.62, "time", ha="center", va="top", fontsize=8, color="0.35")
    return _finish(ax, (-0.6, T * dx + 0.5), (-0.9, (layers + 1) * dy + 0.4), title)


def draw_bidirectional(ax, T, title=None):
    r"""Draw a bidirectional RNN unrolled in time on ``ax``.

    A forward layer :math:`\overrightarrow{h}_t` runs left to right and a backward layer
    :math:`\overleftarrow{h}_t` right to left over the same inputs :math:`u_t`; the output
    :math:`y_t` reads both, :math:`[\overrightarrow{h}_t, \overleftarrow{h}_t]`, so it
    sees the whole sequence :cite:`schuster1997`.

    Parameters
    ----------
    ax : matplotlib Axes
    T : int
        Number of time steps (1 to 12).
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    from rnnlib._validation import check_int

    _check_axes(ax)
    T = check_int("T", T, low=1, high=12)
    _check_title(title)
    dx, w, hgt = 1.2, 0.56, 0.36
    yf, yb, yy = 1.0, 2.0, 3.0
    fwd, bwd = PALETTE[0], PALETTE[4]
    for t in range(1, T + 1):
        x = t * dx
        _box(ax, x, 0, rf"$u_{{{t}}}$", PALETTE[2], w=w, gid="box:u")
        _box(ax, x, yf, rf"$\overrightarrow{{h}}_{{{t}}}$", fwd, w=w, gid="box:forward")
        _box(ax, x, yb, rf"$\overleftarrow{{h}}_{{{t}}}$", bwd, w=w, gid="box:backward")
        _box(ax, x, yy, rf"$y_{{{t}}}$", PALETTE[1], w=w, gid="box:y")
        _arrow(ax, (x, hgt / 2 + 0.03), (x, yf - hgt / 2 - 0.03))
        # u_t to the backward layer: beside the forward box
        _arrow(ax, (x - 0.38, hgt / 2 + 0.03), (x - 0.38, yb - hgt / 2 - 0.03), color="0.55",
               lw=0.9)
        _arrow(ax, (x + 0.38, yf + hgt / 2 + 0.03), (x + 0.38, yy - hgt / 2 - 0.03),
               color="0.55", lw=0.9)
        _arrow(ax, (x, yb + hgt / 2 + 0.03), (x, yy - hgt / 2 - 0.03))
        if t > 1:
            _arrow(ax, (x - dx + w / 2 + 0.03, yf), (x - w / 2 - 0.03, yf), color=fwd,
                   gid="arrow:forward")
            _arrow(ax, (x - w / 2 - 0.03, yb), (x - dx + w / 2 + 0.03, yb), color=bwd,
                   gid="arrow:backward")
    ax.text(dx - w / 2 - 0.15, yf, "forward", ha="right", va="center", fontsize=8, color=fwd)
    ax.text(dx - w / 2 - 0.15, yb, "backward", ha="right", va="center", fontsize=8, color=bwd)
    return _finish(ax, (-0.9, T * dx + 0.5), (-0.4, yy + 0.4), title)


def draw_esn(ax, rng, n_inputs=1, n_reservoir=12, n_outputs=1, density=0.2, title=None):
    r"""Draw an echo state network on ``ax``: input, fixed reservoir, trained readout.

    The input units :math:`u_t` (left) feed a reservoir of randomly and sparsely
    connected units (the recurrent links drawn are a random draw with the given
    density), whose input and recurrent weights :math:`W_{uh}, W_{hh}` are fixed
    (grey, dashed); only the readout :math:`W_{hy}` to the outputs :math:`y_t` (right,
    thick, coloured) is trained, by ridge regression :cite:`jaeger2001`.

    Parameters
    ----------
    ax : matplotlib Axes
    rng : numpy.random.Generator
        Draws the positions of the reservoir units and their links.
    n_inputs, n_outputs : int
        Number of input and output units (1 to 4).
    n_reservoir : int
        Number of reservoir units drawn (3 to 40).
    density : float
        Fraction of the possible recurrent links drawn, in (0, 1].
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        Fixed links have the gid ``"fixed"``, readout links ``"trained"``.
    """
    import numpy as np
    from matplotlib.patches import Circle, Ellipse

    from rnnlib._validation import check_generator, check_int, check_number

    _check_axes(ax)
    check_generator("rng", rng)
    n_inputs = check_int("n_inputs", n_inputs, low=1, high=4)
    n_outputs = check_int("n_outputs", n_outputs, low=1, high=4)
    n_reservoir = check_int("n_reservoir", n_reservoir, low=3, high=40)
    density = check_number("density", density, low=0, high=1, low_open=True)
    _check_title(title)
    res_col, trained = PALETTE[0], PALETTE[1]
    # reservoir units scattered in an ellipse centered on (4, 2)
    angle = rng.uniform(0, 2 * np.pi, n_reservoir)
    radius = np.sqrt(rng.uniform(0.05, 1, n_reservoir))
    pos = np.column_stack([4 + 1.7 * radius * np.cos(angle), 2 + 1.5 * radius * np.sin(angle)])
    pool = Ellipse((4, 2), 4.4, 3.9, facecolor=res_col, alpha=0.08, edgecolor=res_col, lw=1.2)
    pool.set_gid("reservoir")
    ax.add_patch(pool)
    links = [(a, b) for a in range(n_reservoir) for b in range(n_reservoir)
             if a != b and rng.random() < density]
    for a, b in links:
        _arrow(ax, pos[a], pos[b], color="0.55", lw=0.7, gid="fixed", ls="--", zorder=1)
    for p in pos:
        unit = Circle(p, 0.12, facecolor="white", edgecolor=res_col, lw=1.2, zorder=3)
        unit.set_gid("unit")
        ax.add_patch(unit)
    ins = [(0.3, y) for y in np.linspace(2 + 0.5 * (n_inputs - 1), 2 - 0.5 * (n_inputs - 1), n_inputs)]
    outs = [(7.7, y) for y in np.linspace(2 + 0.5 * (n_outputs - 1), 2 - 0.5 * (n_outputs - 1),
                                          n_outputs)]
    fed = rng.choice(n_reservoir, size=max(2, n_reservoir // 2), replace=False)
    for j, p in enumerate(ins):
        _box(ax, *p, rf"$u_{{t,{j + 1}}}$" if n_inputs > 1 else r"$u_t$", PALETTE[2], w=0.55,
             gid="box:u")
        for k in fed:
            _arrow(ax, (p[0] + 0.3, p[1]), pos[k], color="0.55", lw=0.7, gid="fixed", ls="--",
                   zorder=1)
    for j, p in enumerate(outs):
        _box(ax, *p, rf"$y_{{t,{j + 1}}}$" if n_outputs > 1 else r"$y_t$", PALETTE[1], w=0.55,
             gid="box:y")
        for k in range(n_reservoir):
            _arrow(ax, pos[k], (p[0] - 0.3, p[1]), color=trained, lw=1.4, gid="trained",
                   zorder=2)
    ax.text(4, 4.15, r"reservoir $W_{hh}$: random, sparse, fixed", ha="center", va="bottom",
            fontsize=8, color=res_col)
    ax.text(1.4, 0.25, r"$W_{uh}$: fixed", ha="center", va="top", fontsize=8, color="0.35")
    ax.text(6.9, 0.25, r"readout $W_{hy}$: trained", ha="center", va="top", fontsize=8,
            color=trained)
    return _finish(ax, (-0.2, 8.3), (-0.1, 4.6), title)


def draw_encoder_decoder(ax, source_len=3, target_len=3, title=None):
    r"""Draw a sequence-to-sequence encoder-decoder on ``ax``.

    The encoder reads the source :math:`x_1, \dots, x_S` into states
    :math:`h_1, \dots, h_S`; its last state is the context :math:`c = h_S`, the initial
    state of the decoder. The decoder's states :math:`s_1, \dots, s_{T'}` emit
    :math:`y_1, \dots, y_{T'}`, and each output is fed back as the next input (dashed),
    starting from a begin-of-sequence symbol ``<bos>`` :cite:`sutskever2014`.

    Parameters
    ----------
    ax : matplotlib Axes
    source_len, target_len : int
        Lengths S and T' of the source and the target (1 to 8).
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    from rnnlib._validation import check_int

    _check_axes(ax)
    source_len = check_int("source_len", source_len, low=1, high=8)
    target_len = check_int("target_len", target_len, low=1, high=8)
    _check_title(title)
    enc, dec, ctx = PALETTE[0], PALETTE[4], PALETTE[3]
    dx, w, hgt = 1.2, 0.56, 0.36
    for s in range(1, source_len + 1):
        x = s * dx
        _box(ax, x, 0, rf"$x_{{{s}}}$", PALETTE[2], w=w, gid="box:x")
        _box(ax, x, 1, rf"$h_{{{s}}}$", enc, w=w, gid="box:encoder")
        _arrow(ax, (x, hgt / 2 + 0.03), (x, 1 - hgt / 2 - 0.03))
        if s > 1:
            _arrow(ax, (x - dx + w / 2 + 0.03, 1), (x - w / 2 - 0.03, 1))
    xc = (source_len + 1) * dx
    _box(ax, xc, 1, r"$c$", ctx, w=w, gid="box:context")
    _arrow(ax, (xc - dx + w / 2 + 0.03, 1), (xc - w / 2 - 0.03, 1), color=ctx, lw=1.8)
    ax.text(xc, 1 - hgt / 2 - 0.1, "context", ha="center", va="top", fontsize=8, color=ctx)
    for j in range(1, target_len + 1):
        x = xc + j * dx
        _box(ax, x, 0, r"<bos>" if j == 1 else rf"$y_{{{j - 1}}}$", PALETTE[2], w=w + 0.1,
             gid="box:input", fontsize=9 if j == 1 else 11)
        _box(ax, x, 1, rf"$s_{{{j}}}$", dec, w=w, gid="box:decoder")
        _box(ax, x, 2, rf"$y_{{{j}}}$", PALETTE[1], w=w, gid="box:y")
        _arrow(ax, (x, hgt / 2 + 0.03), (x, 1 - hgt / 2 - 0.03))
        _arrow(ax, (x, 1 + hgt / 2 + 0.03), (x, 2 - hgt / 2 - 0.03))
        _arrow(ax, (x - dx + w / 2 + 0.03, 1), (x - w / 2 - 0.03, 1),
               color=ctx if j == 1 else "0.25", lw=1.8 if j == 1 else 1.2)
        if j < target_len:  # y_j is the next step's input
            _arrow(ax, (x + w / 2, 2), (x + dx - w / 2 - 0.05, hgt / 2 + 0.03), color="0.55",
                   lw=0.9, ls="--", gid="feedback")
    ax.text((source_len + 1) * dx / 2, 1.55, "encoder", ha="center", va="bottom", fontsize=9,
            color=enc)
    ax.text(xc + (target_len + 1) * dx / 2, 2.45, "decoder", ha="center", va="bottom",
            fontsize=9, color=dec)
    return _finish(ax, (0.3, xc + target_len * dx + 0.6), (-0.4, 2.8), title)


def _check_flags(name, flags, T):
    """A sequence of T bools (which steps of draw_unrolled have an input or output)."""
    from rnnlib._validation import ArgumentTypeError, check_bool

    if isinstance(flags, (str, bytes)) or not hasattr(flags, "__len__"):
        raise ArgumentTypeError(f"{name} must be a sequence of {T} bools; got "
                                f"{type(flags).__name__}")
    flags = [check_bool(f"{name}[{i}]", f) for i, f in enumerate(flags)]
    if len(flags) != T:
        raise ValueError(f"{name} must have length T={T}; got {len(flags)}")
    return flags
