"""rnnlib.seq2seq: padding helpers, the encoder-decoder's gradients against finite
differences, padded batches against each sequence alone, decoding against the
teacher-forced pass, sampling against the softmax, training, and refused inputs."""
import numpy as np
import pytest

from rnnlib import seq2seq as s2s
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.optim import Adam
from rnnlib.train import train

V = 7          # 3 reserved symbols + 4 content symbols


def tiny_batch(seed=0):
    rng = np.random.default_rng(seed)
    src, tgt = s2s.reversal_pairs(4, 1, 4, V - 3, rng)
    src[0], tgt[0] = np.array([3, 4, 5, 6]), np.array([6, 5, 4, 3, s2s.EOS])  # longest
    src[1], tgt[1] = np.array([5]), np.array([5, s2s.EOS])                    # shortest
    X, _ = s2s.pad_sequences(src)
    Y, ym = s2s.pad_sequences(tgt)
    return src, tgt, X, Y, ym


def model(cell="lstm", seed=0, **kw):
    m = s2s.Seq2Seq(V, V, 3, 4, cell=cell, seed=seed, **kw)
    rng = np.random.default_rng(seed + 10)
    for p in m.params.values():                 # larger weights: gradients are not tiny
        p += 0.3 * rng.standard_normal(p.shape)
    return m


def test_params_and_grads_are_views_over_the_layers_arrays():
    m = s2s.Seq2Seq(V, V, 3, 4, seed=0)
    prefixes = [k.rsplit(".", 1)[0] for k in m.params]
    assert list(dict.fromkeys(prefixes)) == list(m.layers) == [
        "encoder.embedding", "encoder.rnn", "decoder.embedding", "decoder.rnn", "decoder.dense"]
    for name, layer in m.layers.items():
        for k, v in layer.params.items():
            assert m.params[f"{name}.{k}"] is v and m.grads[f"{name}.{k}"] is layer.grads[k]
    assert m.count_params() == sum(layer.count_params() for layer in m.layers.values())


# -- padding helpers ----------------------------------------------------------------------

def test_pad_sequences_round_trip_and_mask():
    seqs = [np.array([3, 4, 5]), np.array([7]), np.array([4, 4])]
    ids, mask = s2s.pad_sequences(seqs)
    assert ids.shape == mask.shape == (3, 3)
    assert ids.tolist() == [[3, 4, 5], [7, 0, 0], [4, 4, 0]]
    assert mask.sum(axis=1).tolist() == [3, 1, 2]
    back = s2s.unpad(ids, mask)
    assert all(np.array_equal(a, b) for a, b in zip(back, seqs))
    ids5, mask5 = s2s.pad_sequences(seqs, pad=9, length=5)
    assert ids5.shape == (3, 5) and np.all(ids5[~mask5] == 9)
    assert all(np.array_equal(a, b) for a, b in zip(s2s.unpad(ids5, mask5), seqs))


def test_shift_right_delays_targets_and_keeps_padding():
    Y, ym = s2s.pad_sequences([np.array([5, 6, 2]), np.array([4, 2])])
    assert s2s.shift_right(Y, ym).tolist() == [[1, 5, 6], [1, 4, 0]]


def test_length_buckets_cover_every_sequence_once_and_cut_padding():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 20, size=103)
    for r in (None, np.random.default_rng(1)):
        batches = s2s.length_buckets(lengths, 10, r)
        assert sorted(np.concatenate(batches).tolist()) == list(range(103))
        assert [len(b) for b in batches].count(10) == 10
        # each batch spans a short range of lengths: sorted runs of 10 out of 103
        assert max(np.ptp(lengths[b]) for b in batches) <= 6
    masks = [np.arange(lengths[b].max()) < lengths[b][:, None] for b in batches]
    bucketed = 1 - sum(m.sum() for m in masks) / sum(m.size for m in masks)
    random_batches = np.array_split(rng.permutation(103), 11)
    random_masks = [np.arange(lengths[b].max()) < lengths[b][:, None] for b in random_batches]
    assert bucketed < 0.5 * np.mean([s2s.padding_fraction(m) for m in random_masks])


def test_padding_fraction_counts_padded_steps():
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
    assert s2s.padding_fraction(mask) == pytest.approx(0.25)


def test_reversal_pairs_reverse_and_end_in_eos():
    src, tgt = s2s.reversal_pairs(50, 2, 5, 4, np.random.default_rng(0))
    for s, t in zip(src, tgt):
        assert 2 <= len(s) <= 5 and np.all((s >= 3) & (s < 7))
        assert t[-1] == s2s.EOS and np.array_equal(t[:-1], s[::-1])


def test_accuracies_on_a_hand_example():
    Y = np.array([[5, 6, 2], [4, 2, 0]])
    m = Y != 0
    P = np.array([[5, 3, 2], [4, 2, 6]])
    assert s2s.token_accuracy(P, Y, m) == pytest.approx(4 / 5)
    assert s2s.sequence_accuracy(P, Y, m) == pytest.approx(1 / 2)


def test_inverse_sigmoid_decay_closed_form():
    assert s2s.inverse_sigmoid_decay(0, 10) == pytest.approx(10 / 11)
    assert s2s.inverse_sigmoid_decay(50, 10) == pytest.approx(10 / (10 + np.exp(5)))
    assert s2s.inverse_sigmoid_decay(10 ** 6, 10) == 0.0


# -- gradients ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_encoder_decoder_gradients_match_finite_differences(cell):
    _, _, X, Y, ym = tiny_batch()
    m = model(cell)
    loss, grads, _ = m.loss_and_grads(None, X, Y, ym)
    f = lambda _: m.loss_and_grads(None, X, Y, ym)[0]
    assert set(grads) == set(m.params)
    for k, p in m.params.items():
        err = rel_error(grads[k], numerical_gradient(f, p))
        assert err < 1e-6, f"{cell} d{k}: relative error {err:.1e}"
    # the encoder learns only through the decoder's initial state
    assert np.abs(grads["encoder.rnn.Wx"]).max() > 1e-4


def test_scheduled_sampling_gradients_match_finite_differences():
    _, _, X, Y, ym = tiny_batch(1)
    m = model()

    def loss_at(_=None, grads=False):
        m.set_sampling(0.5, np.random.default_rng(3))   # the same coin flips every call
        out = m.loss_and_grads(None, X, Y, ym)
        return out[:2] if grads else out[0]

    loss, grads = loss_at(grads=True)
    for k, p in m.params.items():
        err = rel_error(grads[k], numerical_gradient(loss_at, p))
        assert err < 1e-6, f"d{k}: relative error {err:.1e}"


def test_scheduled_sampling_feeds_the_models_own_tokens():
    _, _, X, Y, ym = tiny_batch()
    m = model()
    m.set_sampling(1.0, np.random.default_rng(0))
    mixed = m._mixed_inputs(X, Y, ym)
    pred, _ = m.greedy_decode(X, Y.shape[1])
    # with p = 1 every input after <bos> is the previous greedy token (on valid steps)
    valid = ym.copy()
    valid[:, 0] = False
    assert np.all(mixed[:, 0] == s2s.BOS)
    shifted = np.concatenate([np.full((len(X), 1), s2s.BOS), pred[:, :-1]], axis=1)
    # rows stop matching after greedy emits EOS (then padding); compare until then
    for n in range(len(X)):
        stop = np.flatnonzero(pred[n] == s2s.EOS)
        end = min(ym[n].sum(), (stop[0] + 1) if stop.size else Y.shape[1])
        assert np.array_equal(mixed[n, 1:end], shifted[n, 1:end])
    m.set_sampling(0.0)
    assert np.array_equal(m._mixed_inputs(X, Y, ym), s2s.shift_right(Y, ym))


# -- padding changes nothing --------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padded_batch_equals_each_sequence_alone(cell):
    src, tgt, X, Y, ym = tiny_batch()
    m = model(cell)
    loss, grads, scores = m.loss_and_grads(None, X, Y, ym)
    alone = []
    for n, (s, t) in enumerate(zip(src, tgt)):
        l1, g1, sc1 = m.loss_and_grads(None, s[None], t[None], None)
        assert np.allclose(sc1[0], scores[n, :len(t)], atol=1e-12)
        alone.append((l1, g1))
    assert loss == pytest.approx(np.mean([a[0] for a in alone]), rel=1e-12)
    for k in grads:
        mean = np.mean([a[1][k] for a in alone], axis=0)
        assert np.allclose(grads[k], mean, atol=1e-12), k


# -- decoding -----------------------------------------------------------------------------

def test_greedy_decode_equals_argmax_of_teacher_forced_pass_on_its_own_outputs():
    _, _, X, _, _ = tiny_batch(2)
    m = model()
    T = 6
    tokens, mask, scores = m.greedy_decode(X, T, return_scores=True)
    # feed the greedy tokens back as teacher-forced inputs (beyond EOS: any token)
    full = np.argmax(scores, axis=2)
    steps = int(np.flatnonzero(np.abs(scores).sum(axis=(0, 2)) > 0).max()) + 1
    full = full[:, :steps]
    tf = m.forward(X, s2s.shift_right(full, np.ones_like(full, dtype=bool)))
    assert np.array_equal(np.argmax(tf, axis=2), full)
    assert np.allclose(tf, scores[:, :steps], atol=1e-12)
    # tokens stop at the first EOS, then padding
    for n in range(len(X)):
        stop = np.flatnonzero(full[n] == s2s.EOS)
        L = stop[0] + 1 if stop.size else steps
        assert np.array_equal(tokens[n, :L], full[n, :L]) and np.all(tokens[n, L:] == s2s.PAD)
        assert mask[n].sum() == L


def test_sample_decode_first_token_follows_the_softmax():
    m = model()
    X = np.tile(np.array([[3, 4, 5]]), (4000, 1))
    _, _, scores = m.greedy_decode(X[:1], 1, return_scores=True)
    p = np.exp(scores[0, 0] - scores[0, 0].max())
    p /= p.sum()
    tokens, _ = m.sample_decode(X, 1, np.random.default_rng(0))
    freq = np.bincount(tokens[:, 0], minlength=V) / len(X)
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / len(X)) + 1e-3)


def test_sample_decode_at_low_temperature_is_greedy_and_seeded():
    _, _, X, _, _ = tiny_batch(3)
    m = model()
    greedy, _ = m.greedy_decode(X, 6)
    cold, _ = m.sample_decode(X, 6, np.random.default_rng(0), temperature=1e-4)
    assert np.array_equal(cold, greedy)
    a, _ = m.sample_decode(X, 6, np.random.default_rng(5))
    b, _ = m.sample_decode(X, 6, np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_train_learns_to_reverse_short_sequences():
    rng = np.random.default_rng(0)
    src, tgt = s2s.reversal_pairs(600, 1, 3, 3, rng)
    X, _ = s2s.pad_sequences(src)
    Y, ym = s2s.pad_sequences(tgt)
    m = s2s.Seq2Seq(6, 6, 8, 16, seed=0)
    hist = train(m, None, Adam(2e-2), (X, Y, ym), 150, batch_size=32, clip_norm=5.0,
                 rng=np.random.default_rng(1))
    assert np.mean(hist.loss[-10:]) < 0.2 * np.mean(hist.loss[:10])
    pred, _ = m.greedy_decode(X[:200], Y.shape[1])
    assert s2s.sequence_accuracy(pred, Y[:200], ym[:200]) > 0.9


# -- refused inputs -----------------------------------------------------------------------

def test_bad_inputs_are_refused():
    ok = [np.array([3, 4])]
    with pytest.raises(ValueError, match="non-empty"):
        s2s.pad_sequences([])
    with pytest.raises(TypeError):
        s2s.pad_sequences([[3, 4]])
    with pytest.raises(TypeError, match="integer"):
        s2s.pad_sequences([np.array([3.0, 4.0])])
    with pytest.raises(ValueError, match="padding symbol"):
        s2s.pad_sequences([np.array([3, 0, 4])])
    with pytest.raises(ValueError, match="empty"):
        s2s.pad_sequences([np.array([], dtype=int)])
    with pytest.raises(ValueError, match="shorter"):
        s2s.pad_sequences(ok, length=1)
    with pytest.raises(ValueError, match="prefix"):
        s2s.unpad(np.array([[3, 4]]), np.array([[False, True]]))
    with pytest.raises(ValueError):
        s2s.length_buckets(np.array([2, 0]), 2)
    with pytest.raises(TypeError):
        s2s.length_buckets(np.array([2, 3]), 2, rng=0)
    with pytest.raises(TypeError):
        s2s.reversal_pairs(5, 1, 3, 4, rng=1)
    with pytest.raises(ValueError):
        s2s.reversal_pairs(5, 4, 3, 4, np.random.default_rng(0))


def test_bad_model_arguments_are_refused():
    with pytest.raises(ValueError, match="cell"):
        s2s.Seq2Seq(V, V, 3, 4, cell="transformer")
    with pytest.raises(ValueError, match="rng"):
        s2s.Seq2Seq(V, V, 3, 4, sampling_prob=0.5)
    with pytest.raises(ValueError):
        s2s.Seq2Seq(V, V, 3, 4, sampling_prob=1.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError):
        s2s.Seq2Seq(V, V, 3.0, 4)
    m = s2s.Seq2Seq(V, V, 3, 4)
    _, _, X, Y, ym = tiny_batch()
    with pytest.raises(ValueError, match="own parameters"):
        m.loss_and_grads({k: v.copy() for k, v in m.params.items()}, X, Y, ym)
    with pytest.raises(ValueError, match="prefix"):
        m.loss_and_grads(None, np.array([[3, 0, 4]]), Y[:1], ym[:1])
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        m.loss_and_grads(None, X + 10, Y, ym)
    with pytest.raises(ValueError, match="shape"):
        m.loss_and_grads(None, X, Y[:2], ym[:2])
    with pytest.raises(TypeError, match="integer"):
        m.loss_and_grads(None, X, Y.astype(float), ym)
    with pytest.raises(ValueError, match="temperature"):
        m.sample_decode(X, 3, np.random.default_rng(0), temperature=0.0)
    with pytest.raises(TypeError):
        m.sample_decode(X, 3, rng=None)
    with pytest.raises(TypeError):
        m.greedy_decode(X, 2.5)


# -- many-to-one classifier ---------------------------------------------------------------

def classifier(seed=0):
    from rnnlib.layers import LSTM, Dense, Embedding, Sequential
    model = Sequential([Embedding(4, 3), LSTM(4), Dense(2)], seed=seed)
    model.build((None, None))
    return model


def test_count_comparison_labels_compare_counts():
    seqs, labels = s2s.count_comparison(200, 1, 9, np.random.default_rng(0))
    assert labels.shape == (200,) and 0 < labels.mean() < 1
    for s, c in zip(seqs, labels):
        assert 1 <= len(s) <= 9 and np.all((s >= 1) & (s <= 3))
        assert c == int(np.sum(s == 1) > np.sum(s == 2))


def test_classifier_objective_gradients_and_padding():
    seqs, labels = s2s.count_comparison(5, 1, 6, np.random.default_rng(1))
    X, M = s2s.pad_sequences(seqs)
    model = classifier()
    f = s2s.classifier_objective(model)
    loss, grads, scores = f(None, X, labels, M)
    assert scores.shape == (5, 2)
    value = lambda _: f(None, X, labels, M)[0]
    for k, p in model.params.items():
        err = rel_error(grads[k], numerical_gradient(value, p))
        assert err < 1e-6, f"d{k}: relative error {err:.1e}"
    alone = [f(None, s[None], labels[n:n + 1], None) for n, s in enumerate(seqs)]
    assert loss == pytest.approx(np.mean([a[0] for a in alone]), rel=1e-12)
    assert np.allclose(scores, np.concatenate([a[2] for a in alone]), atol=1e-12)
    for k in grads:
        assert np.allclose(grads[k], np.mean([a[1][k] for a in alone], axis=0), atol=1e-12), k


def test_classifier_objective_refuses_bad_models_and_labels():
    from rnnlib.layers import LSTM, Embedding, Sequential
    with pytest.raises(TypeError, match="layer"):
        s2s.classifier_objective(lambda x: x)
    seqs, labels = s2s.count_comparison(4, 2, 4, np.random.default_rng(0))
    X, M = s2s.pad_sequences(seqs)
    per_step = Sequential([Embedding(4, 3), LSTM(2, return_sequences=True)], seed=0)
    with pytest.raises(ValueError, match="return_sequences"):
        s2s.classifier_objective(per_step)(None, X, labels, M)
    f = s2s.classifier_objective(classifier())
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        f(None, X, labels + 5, M)
    with pytest.raises(ValueError, match="one label per sequence"):
        f(None, X, labels[:2], M)
