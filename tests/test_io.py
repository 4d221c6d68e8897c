"""Saving and loading weights as .npz (rnnlib.io): identical outputs after a round trip,
no pickle, and clear errors for files that do not match the model."""
import numpy as np
import pytest

from rnnlib.io import FORMAT, load_weights, save_weights
from rnnlib.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Sequential, SimpleRNN


def make_model(seed, units=4):
    return Sequential([SimpleRNN(3, "relu", return_sequences=True),
                       Bidirectional(LSTM(units, return_sequences=True)), GRU(2), Dense(3)],
                      seed=seed)


@pytest.fixture
def x(rng):
    return rng.standard_normal((3, 5, 2))


@pytest.fixture
def mask():
    return np.arange(5) < np.array([[5], [2], [4]])


def test_round_trip_gives_identical_outputs(tmp_path, x, mask):
    model = make_model(0)
    out = model.forward(x, mask)
    path = save_weights(model, tmp_path / "model.npz")
    other = make_model(1).build(model.input_shape)
    assert not np.array_equal(other.forward(x, mask), out)
    load_weights(other, path)
    np.testing.assert_array_equal(other.forward(x, mask), out)


def test_file_is_a_plain_npz_with_a_format_marker(tmp_path, x):
    model = make_model(0)
    model.forward(x)
    path = save_weights(model, tmp_path / "weights")            # suffix added
    assert path == str(tmp_path / "weights.npz")
    with np.load(path, allow_pickle=False) as data:
        assert str(data["__format__"]) == FORMAT
        np.testing.assert_array_equal(data["__input_shape__"], [-1, -1, 2])
        assert set(data.files) - {"__format__", "__version__", "__input_shape__"} == set(
            model.params)
        np.testing.assert_array_equal(data["1.backward.Wh"], model.params["1.backward.Wh"])


def test_loading_into_an_unbuilt_model_builds_it(tmp_path, rng):
    model = Sequential([Embedding(7, 3), GRU(4, return_sequences=True), Dense(7)], seed=0)
    ids = rng.integers(0, 7, size=(2, 6))
    out = model.forward(ids)
    path = model.save(tmp_path / "lm.npz")
    fresh = Sequential([Embedding(7, 3), GRU(4, return_sequences=True), Dense(7)])
    np.testing.assert_array_equal(fresh.load(path).forward(ids), out)


def test_single_layer_round_trip_keeps_the_arrays(tmp_path, x):
    layer = Bidirectional(GRU(3), merge="sum", seed=0)
    out = layer.forward(x)
    path = save_weights(layer, tmp_path / "bi.npz")
    other = Bidirectional(GRU(3), merge="sum", seed=5).build(layer.input_shape)
    arrays = other.params
    load_weights(other, path)
    np.testing.assert_array_equal(other.forward(x), out)
    assert all(other.params[k] is arrays[k] for k in arrays)    # overwritten in place


def test_float32_round_trip(tmp_path, x):
    layer = LSTM(3, seed=0, dtype=np.float32)
    out = layer.forward(x.astype(np.float32))
    path = save_weights(layer, tmp_path / "f32.npz")
    other = LSTM(3, seed=1, dtype=np.float32)
    load_weights(other, path)
    np.testing.assert_array_equal(other.forward(x.astype(np.float32)), out)
    with pytest.raises(ValueError, match="'Wx' has dtype float64 in the model but float32"):
        load_weights(LSTM(3).build((None, None, 2)), path)


def test_mismatching_shape_names_the_parameter(tmp_path, x):
    model = make_model(0)
    model.forward(x)
    path = save_weights(model, tmp_path / "m.npz")
    other = make_model(1, units=5).build(model.input_shape)
    before = {k: v.copy() for k, v in other.params.items()}
    with pytest.raises(ValueError, match=r"parameter '1.forward.Wx' has shape \(3, 20\) in the "
                                         r"model but \(3, 16\) in the file"):
        load_weights(other, path)
    for k, v in other.params.items():      # nothing was overwritten
        np.testing.assert_array_equal(v, before[k])


def test_mismatching_architecture_names_the_missing_or_extra_key(tmp_path, x):
    model = make_model(0)
    model.forward(x)
    path = save_weights(model, tmp_path / "m.npz")
    lstm_top = Sequential([SimpleRNN(3, return_sequences=True),
                           Bidirectional(LSTM(4, return_sequences=True)), LSTM(2), Dense(3)])
    with pytest.raises(ValueError, match=r"parameter '2.Wx' has shape \(8, 8\) in the model but "
                                         r"\(8, 6\) in the file"):
        load_weights(lstm_top.build(model.input_shape), path)
    shorter = Sequential([SimpleRNN(3, return_sequences=True),
                          Bidirectional(LSTM(4, return_sequences=True)), GRU(2)])
    with pytest.raises(ValueError, match=r"the file holds '3.W', which the model does not have"):
        load_weights(shorter.build(model.input_shape), path)
    longer = Sequential(make_model(0).layers + [Dense(2)])
    with pytest.raises(ValueError, match=r"no weights for parameter '4.W'"):
        load_weights(longer.build(model.input_shape), path)


def test_files_that_are_not_weights_files_are_rejected(tmp_path):
    model = GRU(2, seed=0).build((None, None, 3))
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(ValueError, match="is not an rnnlib weights file"):
        load_weights(model, text)
    other = tmp_path / "other.npz"
    np.savez(other, Wx=np.zeros((3, 6)))
    with pytest.raises(ValueError, match="not an rnnlib weights file .no __format__"):
        load_weights(model, other)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="is not an rnnlib weights file"):
        load_weights(model, single)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __format__=np.array(FORMAT), __version__=np.array(1),
             __input_shape__=np.array([-1, -1, 3]), Wx=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="is not an rnnlib weights file.*pickle"):
        load_weights(model, pickled)
    with pytest.raises(FileNotFoundError):
        load_weights(model, tmp_path / "missing.npz")


def test_newer_format_version_is_rejected(tmp_path):
    model = GRU(2, seed=0).build((None, None, 3))
    path = tmp_path / "future.npz"
    np.savez(path, __format__=np.array(FORMAT), __version__=np.array(99),
             __input_shape__=np.array([-1, -1, 3]), **model.params)
    with pytest.raises(ValueError, match="format version 99"):
        load_weights(model, path)


def test_saving_an_unbuilt_model_raises(tmp_path):
    with pytest.raises(ValueError, match="not built yet"):
        save_weights(GRU(2), tmp_path / "w.npz")


def test_a_save_that_fails_midway_leaves_the_previous_file_loadable(tmp_path, monkeypatch):
    import rnnlib.io as io
    model = Sequential([LSTM(3, seed=0)]).build((None, None, 2))
    path = model.save(tmp_path / "w.npz")
    before = {k: v.copy() for k, v in model.params.items()}
    original = np.savez

    def fail_midway(file, **arrays):           # writes part of an archive, then fails
        file.write(b"PK\x03\x04 partial")
        raise OSError("No space left on device")
    monkeypatch.setattr(io.np, "savez", fail_midway)
    for p in model.params.values():
        p += 1.0
    with pytest.raises(OSError, match="No space left"):
        model.save(path)
    monkeypatch.setattr(io.np, "savez", original)
    fresh = Sequential([LSTM(3, seed=1)]).load(path)
    for k, v in fresh.params.items():
        np.testing.assert_array_equal(v, before[k])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]    # no temporary left


def test_save_archive_refuses_objects_and_missing_folders(tmp_path):
    from rnnlib.io import save_archive
    with pytest.raises(ValueError, match="never pickled"):
        save_archive(tmp_path / "a.npz", "x", 1, {"a": np.array([{}], dtype=object)})
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_archive(tmp_path / "no" / "a.npz", "x", 1, {"a": np.zeros(2)})


def test_a_saved_file_gets_the_permissions_of_an_ordinary_new_file(tmp_path):
    import os
    from rnnlib.io import save_archive
    path = save_archive(tmp_path / "p.npz", "x", 1, {"a": np.zeros(2)})
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
