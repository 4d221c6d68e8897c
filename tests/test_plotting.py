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


# --- concept diagrams ---------------------------------------------------------------

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from rnnlib._validation import ArgumentTypeError  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def texts(ax):
    return [t.get_text() for t in ax.texts]


def gids(ax, prefix):
    """The artists (patches and lines) of ``ax`` whose gid starts with ``prefix``."""
    return [a for a in list(ax.patches) + list(ax.lines) if (a.get_gid() or "").startswith(prefix)]


def test_draw_lstm_cell_has_four_blocks_three_products_one_sum_and_the_highway(ax):
    assert plotting.draw_lstm_cell(ax, title="LSTM") is ax
    gates = sorted(p.get_gid() for p in gids(ax, "gate:"))
    assert gates == ["gate:$f_t$", "gate:$g_t$", "gate:$i_t$", "gate:$o_t$"]
    assert all(isinstance(p, FancyBboxPatch) for p in gids(ax, "gate:"))
    # f * c_{t-1}, i * g, o * tanh(c): three products; one sum; one tanh of the cell
    assert len(gids(ax, "op:mul")) == 3 and len(gids(ax, "op:add")) == 1
    assert len(gids(ax, "op:$\\tanh$")) == 1
    assert {"$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$u_t$"} <= set(texts(ax))
    (highway,) = gids(ax, "highway")
    assert highway.get_linewidth() >= 3 * 1.2          # thicker than every other line
    assert to_hex(highway.get_color()) == plotting.HIGHWAY_COLOR
    xs, ys = highway.get_data()
    assert len(set(ys)) == 1 and xs[0] < 1 and xs[-1] > 9   # from c_{t-1} across to c_t
    assert any("gradient highway" in t for t in texts(ax))
    assert ax.get_title() == "LSTM"
    # arrows: 4 bus->block, f->x, i->x, g->x, x->+, c->tanh, tanh->x, o->x, x->h, u->bus,
    # and the arrow head of the cell line
    assert len(gids(ax, "arrow")) == 14


def test_draw_lstm_cell_without_highway_draws_no_highway(ax):
    plotting.draw_lstm_cell(ax, highway=False)
    assert gids(ax, "highway") == []
    assert not any("highway" in t for t in texts(ax))


def test_draw_gru_cell_has_reset_update_candidate_and_the_highway(ax):
    assert plotting.draw_gru_cell(ax) is ax
    gates = sorted(p.get_gid() for p in gids(ax, "gate:"))
    assert gates == ["gate:$n_t$", "gate:$r_t$", "gate:$z_t$"]
    # z * h_{t-1}, r * (h W_hn + b_hn), (1 - z) * n; one sum; one 1 - z
    assert len(gids(ax, "op:mul")) == 3 and len(gids(ax, "op:add")) == 1
    assert len(gids(ax, "op:$1-$")) == 1
    (highway,) = gids(ax, "highway")
    assert highway.get_linewidth() >= 3 * 1.2
    assert {"$h_{t-1}$", "$h_t$", "$u_t$"} <= set(texts(ax))
    assert not any(t.startswith("$c") for t in texts(ax))   # no separate cell state


def error_arrows(ax):
    """{(source t, state k): colour} of the BPTT error arrows."""
    out = {}
    for p in gids(ax, "error:"):
        _, t, k = p.get_gid().split(":")
        assert isinstance(p, FancyArrowPatch)
        out[int(t), int(k)] = to_hex(p.get_edgecolor())
    return out


def test_draw_bptt_sends_each_loss_back_to_h0_in_its_own_colour(ax):
    T = 4
    assert plotting.draw_bptt(ax, T) is ax
    errors = error_arrows(ax)
    # L_t reaches h_t, h_{t-1}, ..., h_0: t + 1 arrows per source
    assert set(errors) == {(t, k) for t in range(1, T + 1) for k in range(t + 1)}
    assert len(errors) == sum(t + 1 for t in range(1, T + 1))
    by_source = {t: {c for (s, _), c in errors.items() if s == t} for t in range(1, T + 1)}
    assert all(len(c) == 1 for c in by_source.values())      # one colour per source
    assert len(set.union(*by_source.values())) == T          # distinct across sources
    assert {f"$L_{{{t}}}$" for t in range(1, T + 1)} | {"$h_{0}$"} <= set(texts(ax))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"error from $L_{{{t}}}$" for t in range(1, T + 1)]
    assert len(gids(ax, "forward")) == T


def test_draw_bptt_colours_stay_distinct_beyond_the_palette(ax):
    plotting.draw_bptt(ax, 10, legend=False)
    colours = {c for (t, k), c in error_arrows(ax).items() if k == t}
    assert len(colours) == 10
    assert ax.get_legend() is None


def test_draw_bptt_truncated_reaches_only_k_states(ax):
    plotting.draw_bptt(ax, 5, truncate=2)
    errors = error_arrows(ax)
    # horizon 2: the error from L_t reaches h_t and h_{t-1} only
    assert set(errors) == {(t, k) for t in range(1, 6) for k in (t - 1, t)}
    assert any("horizon k = 2" in t for t in texts(ax))


def test_draw_bptt_horizon_one_keeps_only_the_injected_errors(ax):
    plotting.draw_bptt(ax, 3, truncate=1)
    assert set(error_arrows(ax)) == {(1, 1), (2, 2), (3, 3)}


def test_draw_stacked_draws_layers_by_time(ax):
    assert plotting.draw_stacked(ax, 3, layers=2) is ax
    assert len(gids(ax, "box:h1")) == len(gids(ax, "box:h2")) == 3
    assert len(gids(ax, "box:u")) == len(gids(ax, "box:y")) == 3
    assert "$h^{(2)}_{3}$" in texts(ax) and {"layer 1", "layer 2"} <= set(texts(ax))
    # per step: u->h1, h1->h2, h2->y; per layer: T-1 recurrent arrows
    assert len(gids(ax, "arrow")) == 3 * 3 + 2 * 2


def test_draw_bidirectional_has_a_forward_and_a_backward_chain(ax):
    assert plotting.draw_bidirectional(ax, 4) is ax
    assert len(gids(ax, "box:forward")) == len(gids(ax, "box:backward")) == 4
    fwd, bwd = gids(ax, "arrow:forward"), gids(ax, "arrow:backward")
    assert len(fwd) == len(bwd) == 3
    # the forward chain points right, the backward chain left
    assert all(p._posA_posB[1][0] > p._posA_posB[0][0] for p in fwd)
    assert all(p._posA_posB[1][0] < p._posA_posB[0][0] for p in bwd)
    assert to_hex(fwd[0].get_edgecolor()) != to_hex(bwd[0].get_edgecolor())


def test_draw_esn_marks_fixed_and_trained_weights(ax):
    n = 10
    assert plotting.draw_esn(ax, np.random.default_rng(0), n_reservoir=n, n_outputs=2) is ax
    units = [p for p in gids(ax, "unit") if isinstance(p, Circle)]
    assert len(units) == n
    assert len(gids(ax, "trained")) == 2 * n                  # every unit to every output
    fixed = gids(ax, "fixed")
    assert fixed and all(p.get_linestyle() == "--" for p in fixed)
    assert {to_hex(p.get_edgecolor()) for p in gids(ax, "trained")}.isdisjoint(
        {to_hex(p.get_edgecolor()) for p in fixed})
    assert any("fixed" in t for t in texts(ax)) and any("trained" in t for t in texts(ax))


def test_draw_esn_density_sets_how_many_links_are_drawn():
    counts = []
    for density in (0.1, 0.5):
        fig, ax = plt.subplots()
        plotting.draw_esn(ax, np.random.default_rng(1), n_reservoir=20, density=density)
        counts.append(len(gids(ax, "fixed")))
        plt.close(fig)
    # 380 possible links: about 38 and 190, plus the same input links in both
    assert counts[1] - counts[0] > 100


def test_draw_encoder_decoder_feeds_outputs_back(ax):
    assert plotting.draw_encoder_decoder(ax, source_len=4, target_len=3) is ax
    assert len(gids(ax, "box:encoder")) == 4 and len(gids(ax, "box:decoder")) == 3
    assert len(gids(ax, "box:context")) == 1
    assert len(gids(ax, "feedback")) == 2                    # y_1 -> step 2, y_2 -> step 3
    assert {"encoder", "decoder", "context", "<bos>", "$y_{3}$", "$x_{4}$"} <= set(texts(ax))


@pytest.mark.parametrize("draw, args", [
    (plotting.draw_lstm_cell, ()), (plotting.draw_gru_cell, ()), (plotting.draw_bptt, (3,)),
    (plotting.draw_stacked, (3,)), (plotting.draw_bidirectional, (3,)),
    (plotting.draw_esn, (np.random.default_rng(0),)), (plotting.draw_encoder_decoder, ()),
])
def test_diagrams_reject_a_non_axes_and_a_bad_title(ax, draw, args):
    with pytest.raises(ArgumentTypeError, match="ax must be a matplotlib Axes"):
        draw(plt.gcf(), *args)
    with pytest.raises(ArgumentTypeError, match="title must be a string"):
        draw(ax, *args, title=3)


def test_diagrams_reject_bad_sizes(ax):
    with pytest.raises(ValueError, match="T must be an integer in"):
        plotting.draw_bptt(ax, 0)
    with pytest.raises(ArgumentTypeError, match="T must be an integer"):
        plotting.draw_bptt(ax, 2.0)
    with pytest.raises(ValueError, match="truncate"):
        plotting.draw_bptt(ax, 3, truncate=0)
    with pytest.raises(ValueError, match="layers"):
        plotting.draw_stacked(ax, 3, layers=0)
    with pytest.raises(ValueError, match="T must be"):
        plotting.draw_bidirectional(ax, 13)
    with pytest.raises(ArgumentTypeError, match="rng must be a numpy.random.Generator"):
        plotting.draw_esn(ax, 0)
    with pytest.raises(ValueError, match="density"):
        plotting.draw_esn(ax, np.random.default_rng(0), density=0)
    with pytest.raises(ValueError, match="source_len"):
        plotting.draw_encoder_decoder(ax, source_len=0)
    with pytest.raises(ArgumentTypeError, match="highway must be True or False"):
        plotting.draw_lstm_cell(ax, highway="yes")
