"""Tests of rnnlib.charlm: text, windows, the model's gradients and state, sampling, files."""
import numpy as np
import pytest

from rnnlib import charlm
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.io import save_weights
from rnnlib.layers import Dense

VOCAB = charlm.Vocabulary("abcde\n")


def tiny_model(seed=0, hidden_size=6, embed_size=3, dtype=np.float64):
    return charlm.CharLM(VOCAB, hidden_size, embed_size, np.random.default_rng(seed),
                         dtype=dtype)


# --- text and vocabulary -----------------------------------------------------------

def test_encode_decode_round_trip_on_the_corpus():
    text = charlm.load_corpus()[:5000]
    vocab = charlm.Vocabulary()
    ids = vocab.encode(text)
    assert ids.shape == (5000,) and ids.dtype == np.int64
    assert vocab.decode(ids) == text


def test_corpus_is_deterministic_and_within_the_alphabet():
    text = charlm.load_corpus()
    assert len(text) > 100_000
    assert set(text) <= set(charlm.ALPHABET)
    assert charlm.load_corpus() == text
    train, val = charlm.split_text(text)
    assert train + val == text and abs(len(val) / len(text) - 0.1) < 1e-3


def test_normalize_text_maps_typography_and_unknown_characters():
    assert charlm.normalize_text("\u201cit\u2019s\u201d \u2014 \u00df\tx") == '"it\'s" -- ?    x'


def test_encode_rejects_unknown_characters():
    with pytest.raises(ValueError, match="not in the vocabulary"):
        VOCAB.encode("abz")
    with pytest.raises(ValueError, match="must be a str"):
        VOCAB.encode(b"abc")
    with pytest.raises(ValueError, match=r"ids must hold indices in \[0, 6\)"):
        VOCAB.decode(np.array([0, 6]))
    with pytest.raises(ValueError, match="ids must be a NumPy array; got list"):
        VOCAB.decode([0, 1])
    with pytest.raises(ValueError, match="distinct characters"):
        charlm.Vocabulary("aab")


def test_unigram_loss_matches_the_smoothed_frequencies():
    train, val = np.array([0, 0, 0, 1]), np.array([0, 1])
    p = np.array([4, 2, 1]) / 7                         # counts + 1 over V = 3 symbols
    expected = -(np.log(p[0]) + np.log(p[1])) / 2
    assert abs(charlm.unigram_loss(train, val, 3) - expected) < 1e-12


# --- windows -----------------------------------------------------------------------

def test_batches_shapes_targets_and_consecutive_windows():
    ids = np.arange(1000)
    x, y = charlm.batches(ids, batch_size=4, T=10)
    K = 999 // 4 // 10
    assert x.shape == y.shape == (K, 4, 10)
    np.testing.assert_array_equal(y, x + 1)              # the next character
    np.testing.assert_array_equal(x[1:, :, 0], x[:-1, :, -1] + 1)   # windows continue
    assert len(np.unique(x)) == x.size                   # no character read twice


def test_batches_rejects_bad_arguments():
    with pytest.raises(ValueError, match="too short"):
        charlm.batches(np.arange(20), batch_size=4, T=10)
    with pytest.raises(ValueError, match="T must be a positive integer"):
        charlm.batches(np.arange(100), batch_size=4, T=0)
    with pytest.raises(ValueError, match="1-D integer array"):
        charlm.batches(np.zeros(100), batch_size=4, T=5)


# --- the model ---------------------------------------------------------------------

def test_loss_and_grads_match_finite_differences():
    model = tiny_model()
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 6, size=(3, 5)), rng.integers(0, 6, size=(3, 5))
    state = (0.5 * rng.standard_normal((3, 6)), 0.5 * rng.standard_normal((3, 6)))
    _, grads, _ = model.loss_and_grads(x, y, state)
    for name, p in model.params.items():
        num = numerical_gradient(lambda _: model.loss_and_grads(x, y, state)[0], p)
        assert rel_error(grads[name], num) < 1e-7, name


def test_initial_loss_is_near_log_v():
    model = tiny_model()
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 6, size=(8, 20)), rng.integers(0, 6, size=(8, 20))
    loss = model.loss_and_grads(x, y)[0]
    assert abs(loss - np.log(6)) < 0.3


def test_carried_state_equals_one_long_window():
    model = tiny_model()
    x = np.random.default_rng(3).integers(0, 6, size=(2, 12))
    whole, state_whole = model.forward(x)
    first, state = model.forward(x[:, :5])
    second, state = model.forward(x[:, 5:], state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-12)
    for a, b in zip(state, state_whole):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_evaluate_is_the_mean_loss_over_the_windows():
    model = tiny_model()
    ids = np.random.default_rng(4).integers(0, 6, size=400)
    xs, ys = charlm.batches(ids, 4, 10)
    state, losses = None, []
    for x, y in zip(xs, ys):
        loss, _, state = model.loss_and_grads(x, y, state)
        losses.append(loss)
    assert abs(charlm.evaluate(model, ids, batch_size=4, T=10) - np.mean(losses)) < 1e-10


def test_a_short_training_run_lowers_the_loss():
    ids = VOCAB.encode("abcde\n" * 200 + "abcd\n" * 100)
    model = tiny_model(hidden_size=16, embed_size=4)
    before = charlm.evaluate(model, ids, batch_size=4, T=10)
    log = charlm.train(model, ids, 150, batch_size=4, T=10, lr=1e-2, val_ids=ids,
                       eval_every=50, progress=False)
    val = log.metrics["val_loss"]
    assert log.eval_step == [50, 100, 150] and len(log.loss) == 150
    assert val[-1] < 0.3 < 1.5 < before, (before, val)


def test_the_model_is_an_embedding_lstm_dense_stack_of_the_layer_api():
    from rnnlib.layers import LSTM, Embedding, Sequential
    model = tiny_model()
    assert isinstance(model.layers, Sequential)
    kinds = [type(layer) for layer in model.layers.layers]
    assert kinds == [Embedding, LSTM, Dense] and model.lstm.stateful


def test_learning_rate_decays_linearly_and_is_recorded():
    ids = VOCAB.encode("abcde\n" * 50)
    log = charlm.train(tiny_model(), ids, 11, batch_size=2, T=5, lr=1e-2, lr_final=1e-3,
                       progress=False)
    np.testing.assert_allclose(log.lr, np.linspace(1e-2, 1e-3, 11), rtol=1e-12)


def test_resuming_from_a_history_gives_the_same_run_as_one_piece():
    ids = VOCAB.encode("abcde\n" * 60 + "abcd\n" * 30)
    kw = dict(batch_size=2, T=5, lr=1e-2, lr_final=1e-3, progress=False)
    whole = tiny_model()
    log_whole = charlm.train(whole, ids, 20, **kw)
    part = tiny_model()
    opt = charlm.Adam(1e-2)
    log = charlm.train(part, ids, 20, until=8, optimizer=opt, **kw)
    assert log.steps == 8
    log = charlm.train(part, ids, 20, optimizer=opt, history=log, **kw)
    np.testing.assert_allclose(log.loss, log_whole.loss, rtol=1e-12)
    for k, p in whole.params.items():
        np.testing.assert_allclose(part.params[k], p, rtol=1e-12)


def test_a_checkpoint_round_trip_resumes_identically(tmp_path):
    ids = VOCAB.encode("abcde\n" * 60 + "abcd\n" * 30)
    kw = dict(batch_size=2, T=5, lr=1e-2, progress=False)
    whole = tiny_model()
    log_whole = charlm.train(whole, ids, 12, **kw)
    part, opt = tiny_model(), charlm.Adam(1e-2)
    log = charlm.train(part, ids, 12, until=5, optimizer=opt, **kw)
    path = charlm.save_checkpoint(tmp_path / "run.checkpoint.npz", part, opt, log, {"seed": 0})
    part, opt, log, settings = charlm.load_checkpoint(path)
    assert settings == {"seed": 0} and log.steps == 5 and opt.t == 5
    log = charlm.train(part, ids, 12, optimizer=opt, history=log, **kw)
    np.testing.assert_allclose(log.loss, log_whole.loss, rtol=1e-10)


def test_train_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        charlm.train(tiny_model(), np.arange(100) % 6, 0, progress=False)


def test_float32_model_stays_float32():
    model = tiny_model(dtype=np.float32)
    x = np.zeros((2, 4), dtype=np.int64)
    loss, grads, state = model.loss_and_grads(x, x)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert state[0].dtype == state[1].dtype == np.float32


# --- generation --------------------------------------------------------------------

def test_sampling_is_deterministic_under_a_seed():
    model = tiny_model()
    a = charlm.sample(model, "ab", 40, 1.0, np.random.default_rng(5))
    b = charlm.sample(model, "ab", 40, 1.0, np.random.default_rng(5))
    c = charlm.sample(model, "ab", 40, 1.0, np.random.default_rng(6))
    assert len(a) == 40 and set(a) <= set(VOCAB.chars)
    assert a == b and a != c


def test_low_temperature_is_more_peaked():
    model = tiny_model(seed=7)
    entropy = lambda p: -(p * np.log(p)).sum()  # noqa: E731
    ps = [charlm.next_char_probabilities(model, "abc", t) for t in (0.25, 0.5, 1.0, 2.0)]
    for p in ps:
        assert abs(p.sum() - 1) < 1e-12
    h = [entropy(p) for p in ps]
    assert h[0] < h[1] < h[2] < h[3] < np.log(6)
    assert np.argmax(ps[0]) == np.argmax(ps[3])


def test_very_low_temperature_samples_greedily():
    model = tiny_model(seed=8)
    text = charlm.sample(model, "a", 10, 1e-4, np.random.default_rng(0))
    prefix = "a"
    for ch in text:   # each character is the argmax after everything before it
        assert ch == VOCAB.chars[np.argmax(charlm.next_char_probabilities(model, prefix))]
        prefix += ch


def test_sampling_rejects_bad_input():
    model = tiny_model()
    rng = np.random.default_rng(0)
    for t in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="temperature must be (positive|a finite number)"):
            charlm.sample(model, "ab", 5, t, rng)
    with pytest.raises(ValueError, match="temperature must be (positive|a finite number)"):
        charlm.next_char_probabilities(model, "ab", 0.0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        charlm.sample(model, "xyz", 5, 1.0, rng)
    with pytest.raises(ValueError, match="non-empty str"):
        charlm.sample(model, "", 5, 1.0, rng)
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        charlm.sample(model, "ab", -1, 1.0, rng)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        charlm.sample(model, "ab", 5, 1.0, 0)


# --- files -------------------------------------------------------------------------

def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = tiny_model(dtype=np.float32)
    model.info = {"steps": 12, "val_loss": 1.25, "command": "python -m rnnlib.charlm train"}
    path = charlm.save(model, tmp_path / "lm")
    assert path.endswith(".npz")
    with np.load(path, allow_pickle=False) as data:   # strings are unicode arrays
        assert data["vocab"].dtype.kind == "U"
    loaded = charlm.load(path)
    assert loaded.vocab.chars == VOCAB.chars and loaded.info == model.info
    assert loaded.hidden_size == 6 and loaded.embed_size == 3
    x = np.random.default_rng(9).integers(0, 6, size=(2, 7))
    np.testing.assert_array_equal(loaded.forward(x)[0], model.forward(x)[0])
    assert (charlm.sample(loaded, "ab", 20, 0.8, np.random.default_rng(1))
            == charlm.sample(model, "ab", 20, 0.8, np.random.default_rng(1)))


def test_load_rejects_files_that_are_not_charlm_models(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="is not a charlm model"):
        charlm.load(text)
    weights = save_weights(Dense(3, seed=0).build((None, 4)), tmp_path / "dense.npz")
    with pytest.raises(ValueError, match="no __format__ = 'rnnlib-charlm'"):
        charlm.load(weights)
    partial = tmp_path / "partial.npz"
    np.savez(partial, __format__=np.array("rnnlib-charlm"), __version__=np.array(1))
    with pytest.raises(ValueError, match="charlm file without"):
        charlm.load(partial)


def _stored(model):
    path_arrays = charlm._model_arrays(model)
    return dict(path_arrays, __format__=np.array("rnnlib-charlm"), __version__=np.array(2))


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.update(hidden_size=np.array(1000)), r"parameter '0.W'|'1.Wx' has shape"),
    (lambda a: a.update(hidden_size=np.array(-3)), "hidden_size must be a positive integer"),
    (lambda a: a.update(embed_size=np.array(2.5)), "embed_size must be a positive integer"),
    (lambda a: a.update(vocab=np.array(["a", "a"])), "distinct characters"),
    (lambda a: a.update(vocab=np.array([1, 2])), "vocab must be a 1-D array of single characters"),
    (lambda a: a["param.1.Wh"].__setitem__((0, 0), np.nan), "'1.Wh' holds NaN"),
    (lambda a: a.update({"param.2.b": np.zeros(3)}), r"'2.b' has shape \(3,\)"),
    (lambda a: a.update({"param.9.W": np.zeros(3)}), "unexpected parameters"),
    (lambda a: a.update({"info.x": np.zeros(3)}), "info.x must be a single number"),
])
def test_load_checks_every_field_before_building(tmp_path, edit, match, monkeypatch):
    arrays = _stored(tiny_model())
    edit(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    built = []
    original = charlm.CharLM.__init__
    monkeypatch.setattr(charlm.CharLM, "__init__",
                        lambda self, *a, **k: (built.append(a), original(self, *a, **k))[1])
    with pytest.raises(ValueError, match=match):
        charlm.load(path)
    if "info" not in match:
        assert built == []              # nothing was built from the bad file


def test_the_shipped_version_1_model_still_loads():
    from pathlib import Path
    model = charlm.load(Path(__file__).resolve().parents[1] / "book" / "data" / "charlm.npz")
    assert model.hidden_size == 128 and "command" in model.info
    p = charlm.next_char_probabilities(model, "The ", 1.0)
    assert abs(p.sum() - 1) < 1e-6 and np.all(np.isfinite(p))


def test_save_refuses_info_it_could_not_load_back(tmp_path):
    model = tiny_model()
    model.info = {"curve": [1.0, 2.0]}
    with pytest.raises(ValueError, match="single numbers or strings"):
        charlm.save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    with pytest.raises(FileNotFoundError):
        charlm.load(tmp_path / "missing.npz")


def test_command_line_trains_saves_and_samples(tmp_path, capsys):
    out = tmp_path / "cli.npz"
    assert charlm.main(["train", "--steps", "2", "--hidden", "4", "--embed", "2",
                        "--batch", "8", "--T", "8", "--eval-every", "1", "--out",
                        str(out)]) == 0
    model = charlm.load(out)
    assert model.info["steps"] == 2 and "--steps 2" in model.info["command"]
    assert capsys.readouterr().out.count("validation") >= 2
    assert charlm.main(["sample", str(out), "--prefix", "The ", "--n", "30"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("The ") and len(printed.rstrip("\n")) >= 34


def _cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "rnnlib.charlm", *args], capture_output=True,
                          text=True, timeout=120)


def test_command_line_errors_are_one_line_with_exit_codes(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("nonsense")
    for args, code in ((["sample", str(bad)], 1), (["sample", str(tmp_path / "no.npz")], 1),
                       (["train", "--steps", "0"], 2), (["sample"], 2),
                       (["train", "--steps", "1", "--out", str(tmp_path / "no" / "m.npz")], 1),
                       (["train", "--resume", "--out", str(tmp_path / "m.npz")], 1)):
        r = _cli(*args)
        assert r.returncode == code, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert "does not exist" in _cli("train", "--out", str(tmp_path / "no" / "m.npz")).stderr


def test_command_line_checkpoints_and_resumes(tmp_path, capsys):
    out = tmp_path / "cli.npz"
    args = ["train", "--steps", "4", "--hidden", "4", "--embed", "2", "--batch", "8",
            "--T", "8", "--eval-every", "2", "--checkpoint-every", "2", "--out", str(out)]
    assert charlm.main(args) == 0
    whole = charlm.load(out)
    ckpt = charlm.checkpoint_path(out)
    assert "checkpoint" in capsys.readouterr().out and not __import__("os").path.exists(ckpt)
    # Stop after the first checkpoint, as a killed run would, then resume.
    model, opt, history, settings = None, None, None, None
    out2 = tmp_path / "resumed.npz"
    args2 = [a if a != str(out) else str(out2) for a in args]
    calls = []
    original = charlm.save_checkpoint

    def save_then_stop(*a, **k):
        calls.append(original(*a, **k))
        raise KeyboardInterrupt
    charlm.save_checkpoint = save_then_stop
    try:
        assert charlm.main(args2) == 130
    finally:
        charlm.save_checkpoint = original
    assert not out2.exists() and len(calls) == 1
    assert charlm.main(args2 + ["--resume"]) == 0
    resumed = charlm.load(out2)
    for k, p in whole.params.items():
        np.testing.assert_allclose(resumed.params[k], p, rtol=1e-10)
    assert resumed.info["val_loss"] == pytest.approx(whole.info["val_loss"], rel=1e-10)
