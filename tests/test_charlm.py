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


def _load_refused(tmp_path, arrays, match, monkeypatch):
    """Write ``arrays`` as a file, check that load refuses it with ``match``; returns the
    models CharLM built meanwhile."""
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    built = []
    original = charlm.CharLM.__init__
    monkeypatch.setattr(charlm.CharLM, "__init__",
                        lambda self, *a, **k: (built.append(a), original(self, *a, **k))[1])
    with pytest.raises(ValueError, match=match):
        charlm.load(path)
    return built


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
    built = _load_refused(tmp_path, arrays, match, monkeypatch)
    if "info" not in match:
        assert built == []              # nothing was built from the bad file


def _older_version(model, version):
    """The archive of ``model`` as format ``version`` (1: names We, Wx, ...; 2: no samples)."""
    arrays = {k: v for k, v in charlm._model_arrays(model).items() if not k.startswith("samples.")}
    if version == 1:
        names = {v: k for k, v in charlm._V1_NAMES.items()}
        arrays = {names.get(k[6:], k) if k.startswith("param.") else k: v
                  for k, v in arrays.items()}
    return dict(arrays, __format__=np.array("rnnlib-charlm"), __version__=np.array(version))


@pytest.mark.parametrize("version", [1, 2])
def test_files_of_versions_1_and_2_still_load(tmp_path, version):
    model = tiny_model(seed=4)
    model.info = {"steps": 3}
    charlm.record_sample(model, 0, 1.5, 1.6, n=5, prefix="ab")
    path = tmp_path / f"v{version}.npz"
    np.savez(path, **_older_version(model, version))
    loaded = charlm.load(path)
    assert loaded.samples is None and loaded.info == {"steps": 3}
    x = np.random.default_rng(2).integers(0, len(VOCAB), size=(2, 6))
    np.testing.assert_array_equal(loaded.forward(x)[0], model.forward(x)[0])


def test_the_shipped_model_loads_with_its_samples():
    from pathlib import Path
    model = charlm.load(Path(__file__).resolve().parents[1] / "book" / "data" / "charlm.npz")
    assert model.hidden_size == 128 and "--sample-every" in model.info["command"]
    p = charlm.next_char_probabilities(model, "The ", 1.0)
    assert abs(p.sum() - 1) < 1e-6 and np.all(np.isfinite(p))
    s = model.samples
    assert s["step"][0] == 0 and s["step"][-1] == model.info["steps"] and len(s["step"]) >= 5
    assert s["val_loss"][-1] == pytest.approx(model.info["val_loss"])
    assert s["val_loss"][-1] < 0.5 * s["val_loss"][0]      # training helped, as recorded


# --- samples recorded during training ------------------------------------------------

def test_record_sample_appends_the_seeded_sample_and_keeps_the_state():
    model = tiny_model()
    x = np.random.default_rng(3).integers(0, len(VOCAB), size=(1, 5))
    model.forward(x)
    state = tuple(a.copy() for a in model.lstm.state)
    text = charlm.record_sample(model, 0, 1.7, 1.8, n=12, prefix="ab", temperature=0.8, seed=5)
    for a, b in zip(model.lstm.state, state):
        np.testing.assert_array_equal(a, b)            # the carried state is untouched
    model.lstm.state = None
    assert text == charlm.sample(model, "ab", 12, 0.8, np.random.default_rng(5))
    charlm.record_sample(model, 7, 1.2, 1.3, n=12, prefix="ab", temperature=0.8, seed=5)
    s = model.samples
    assert (s["prefix"], s["temperature"], s["seed"]) == ("ab", 0.8, 5)
    assert s["step"].tolist() == [0, 7] and s["step"].dtype == np.int64
    assert s["train_loss"].tolist() == [1.7, 1.2] and s["val_loss"].tolist() == [1.8, 1.3]
    assert s["text"][0] == text and len(s["text"][1]) == 12


@pytest.mark.parametrize("kwargs, match", [
    (dict(step=3), "above the last recorded step 3"),
    (dict(step=2), "above the last recorded step 3"),
    (dict(n=9), r"other \['n'\]"),
    (dict(prefix="b"), r"other \['prefix'\]"),
    (dict(temperature=1.0, seed=1), r"other \['temperature', 'seed'\]"),
    (dict(train_loss=-1.0), "train_loss must be non-negative"),
    (dict(val_loss=float("nan")), "val_loss must be a finite number"),
    (dict(prefix="xyz"), "not in the vocabulary"),
    (dict(prefix=""), "non-empty str"),
    (dict(step=-1), "non-negative integer"),
])
def test_record_sample_refuses_bad_or_inconsistent_input(kwargs, match):
    model = tiny_model()
    charlm.record_sample(model, 3, 1.0, 1.0, n=8, prefix="ab")
    args = dict(step=4, train_loss=1.0, val_loss=1.0, n=8, prefix="ab", temperature=0.5,
                seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        charlm.record_sample(model, **args)
    assert model.samples["step"].tolist() == [3]


def test_samples_round_trip_through_save_and_load(tmp_path):
    model = tiny_model()
    for step, loss in ((0, 1.79), (10, 1.5), (20, 1.25)):
        charlm.record_sample(model, step, loss, loss + 0.1, n=15, prefix="ab")
    loaded = charlm.load(charlm.save(model, tmp_path / "m.npz"))
    for k, v in model.samples.items():
        np.testing.assert_array_equal(loaded.samples[k], v)
    assert loaded.samples["text"].dtype.kind == "U"
    with np.load(tmp_path / "m.npz") as data:
        assert int(data["__version__"]) == charlm.VERSION == 3


def _with_samples():
    model = tiny_model()
    charlm.record_sample(model, 0, 1.8, 1.8, n=6, prefix="ab")
    charlm.record_sample(model, 5, 1.5, 1.6, n=6, prefix="ab")
    return dict(charlm._model_arrays(model), __format__=np.array("rnnlib-charlm"),
                __version__=np.array(3))


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.pop("samples.val_loss"), r"incomplete \(missing \['val_loss'\]"),
    (lambda a: a.update({"samples.extra": np.array(1)}), r"unexpected \['extra'\]"),
    (lambda a: a.update({"samples.step": np.array([5, 5])}), "strictly increasing"),
    (lambda a: a.update({"samples.step": np.array([-1, 5])}), "non-negative and strictly"),
    (lambda a: a.update({"samples.step": np.array([0, 5, 9])}), "length of samples.step"),
    (lambda a: a.update({"samples.step": np.array([0.0, 5.0])}), "of integers"),
    (lambda a: a.update({"samples.val_loss": np.array([1.0, np.nan])}), "finite and non-neg"),
    (lambda a: a.update({"samples.train_loss": np.array([1.0, -2.0])}), "finite and non-neg"),
    (lambda a: a.update({"samples.text": np.array(["abcabc", "abc"])}), "of one length"),
    (lambda a: a.update({"samples.text": np.array(["abcabc", "abcxyz"])}), "outside the vocab"),
    (lambda a: a.update({"samples.text": np.array([1, 2])}), "of strings"),
    (lambda a: a.update({"samples.prefix": np.array("")}), "prefix must be a non-empty"),
    (lambda a: a.update({"samples.temperature": np.array(0.0)}), "temperature must be a pos"),
    (lambda a: a.update({"samples.seed": np.array(-3)}), "seed must be a non-negative"),
])
def test_load_refuses_corrupted_samples_before_building(tmp_path, edit, match, monkeypatch):
    arrays = _with_samples()
    edit(arrays)
    assert _load_refused(tmp_path, arrays, match, monkeypatch) == []


def test_save_refuses_samples_it_could_not_load_back(tmp_path):
    model = tiny_model()
    charlm.record_sample(model, 0, 1.8, 1.8, n=6, prefix="ab")
    model.samples["step"] = np.array([0, 1])
    with pytest.raises(ValueError, match="length of samples.step"):
        charlm.save(model, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


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


def _small_run(out, *extra):
    return ["train", "--steps", "5", "--hidden", "4", "--embed", "2", "--batch", "8", "--T", "8",
            "--eval-every", "4", "--seed", "3", *extra, "--out", str(out)]


def test_command_line_records_samples_at_step_0_every_n_steps_and_the_end(tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert charlm.main(_small_run(out, "--sample-every", "2", "--sample-length", "9",
                                  "--sample-prefix", "In ", "--sample-temperature", "0.7")) == 0
    assert capsys.readouterr().out.count("sample at step") == 4
    model = charlm.load(out)
    s = model.samples
    assert s["step"].tolist() == [0, 2, 4, 5]
    assert (s["prefix"], s["temperature"], s["seed"]) == ("In ", 0.7, 3)
    assert all(len(t) == 9 for t in s["text"])
    assert s["val_loss"][-1] == pytest.approx(model.info["val_loss"])
    # the validation loss at step 0 is that of the untrained model of seed 3
    fresh = charlm.CharLM(charlm.Vocabulary(), 4, 2, np.random.default_rng(3))
    val_ids = fresh.vocab.encode(charlm.split_text(charlm.load_corpus())[1])
    assert s["val_loss"][0] == pytest.approx(charlm.evaluate(fresh, val_ids, 8, 8), rel=1e-12)
    # the last sample is the final model's, drawn with seed 3
    assert s["text"][-1] == charlm.sample(model, "In ", 9, 0.7, np.random.default_rng(3))
    # sampling does not disturb training: the weights equal those of a run without samples
    plain = tmp_path / "plain.npz"
    assert charlm.main(_small_run(plain)) == 0
    assert charlm.load(plain).samples is None
    for k, p in charlm.load(plain).params.items():
        np.testing.assert_array_equal(model.params[k], p)


def _interrupted_at_first_checkpoint(args):
    original = charlm.save_checkpoint

    def save_then_stop(*a, **k):
        original(*a, **k)
        raise KeyboardInterrupt
    charlm.save_checkpoint = save_then_stop
    try:
        return charlm.main(args)
    finally:
        charlm.save_checkpoint = original


def test_command_line_resumes_the_samples_of_a_checkpoint(tmp_path, capsys):
    options = ["--checkpoint-every", "2", "--sample-every", "1", "--sample-length", "7"]
    whole, out = tmp_path / "whole.npz", tmp_path / "resumed.npz"
    assert charlm.main(_small_run(whole, *options)) == 0
    assert _interrupted_at_first_checkpoint(_small_run(out, *options)) == 130
    stored = charlm.load_checkpoint(charlm.checkpoint_path(out))[0].samples
    assert stored["step"].tolist() == [0, 1, 2]
    assert charlm.main(_small_run(out, *options) + ["--resume"]) == 0
    a, b = charlm.load(whole).samples, charlm.load(out).samples
    assert b["step"].tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_array_equal(a["step"], b["step"])
    np.testing.assert_array_equal(a["text"], b["text"])
    np.testing.assert_allclose(b["val_loss"], a["val_loss"], rtol=1e-10)
    # the sample settings belong to the run: resuming with others is refused
    assert _interrupted_at_first_checkpoint(_small_run(out, *options)) == 130
    capsys.readouterr()
    assert charlm.main(_small_run(out, *options[:-1], "8", "--resume")) == 1
    assert "sample_length" in capsys.readouterr().err


def test_command_line_refuses_bad_sample_options(tmp_path):
    out = str(tmp_path / "m.npz")
    for args, code, text in ((["--sample-evry", "5"], 2, "unrecognized arguments"),
                             (["--sample-every", "-1"], 2, "integer >= 0"),
                             (["--sample-length", "0"], 2, "positive integer"),
                             (["--sample-temperature", "nan"], 2, "positive number"),
                             (["--sample-every", "2", "--sample-prefix", "\u00e9t\u00e9"], 1,
                              "--sample-prefix must be non-empty text in the alphabet"),
                             (["--sample-every", "2", "--sample-prefix", ""], 1,
                              "--sample-prefix must be non-empty")):
        r = _cli("train", "--steps", "1", "--hidden", "2", "--embed", "2", *args, "--out", out)
        assert r.returncode == code, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and text in lines[0] and "Traceback" not in r.stderr, r.stderr
