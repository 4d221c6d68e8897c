r"""Saving and loading the weights of a layer or model as ``.npz`` files (never pickle).

A weights file is a NumPy ``.npz`` archive with one array per parameter, under the
model's parameter names (``"0.Wx"``, ``"1.forward.Wh"``, ...), plus three entries of
metadata: ``__format__`` (the string ``"rnnlib-weights"``), ``__version__`` (an integer)
and ``__input_shape__`` (the input shape the model was built for, -1 for a free size).
It is read with ``allow_pickle=False``, so loading a file cannot run code, and checked
against the model before anything is copied: a file that does not match raises a
``ValueError`` naming the first parameter that is missing, unexpected, or of another
shape or dtype.

Works for anything of :mod:`rnnlib.layers` (a :class:`~rnnlib.layers.Sequential` or a
single layer): the model's ``params`` are the arrays written and, on loading, overwritten
in place, so an optimizer holding them keeps working.
"""
import os
import zipfile

import numpy as np

FORMAT = "rnnlib-weights"
VERSION = 1
_META = ("__format__", "__version__", "__input_shape__")


def save_weights(model, path):
    """Write the parameters of a built ``model`` to an ``.npz`` file.

    Parameters
    ----------
    model : rnnlib.layers.Layer
        A built layer or :class:`~rnnlib.layers.Sequential`.
    path : str or os.PathLike
        Target file; ``.npz`` is appended when missing (as ``numpy.savez`` does).

    Returns
    -------
    path : str
        The file written.
    """
    if not getattr(model, "built", False):
        raise ValueError("the model is not built yet, so it has no weights to save; "
                         "call build(input_shape) or forward once")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    shape = np.array([-1 if s is None else s for s in model.input_shape], dtype=np.int64)
    np.savez(path, __format__=np.array(FORMAT), __version__=np.array(VERSION),
             __input_shape__=shape, **model.params)
    return path


def _read(path):
    """All arrays of a weights file as a dict, or ValueError for anything else."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an .npz archive")
        with data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{os.fspath(path)!r} is not an rnnlib weights file (.npz): "
                         f"{err}") from None
    fmt = arrays.get("__format__")
    if fmt is None or fmt.shape != () or str(fmt) != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is an .npz archive but not an rnnlib weights "
                         f"file (no __format__ = {FORMAT!r} entry)")
    version = int(arrays["__version__"])
    if version > VERSION:
        raise ValueError(f"{os.fspath(path)!r} has format version {version}; this rnnlib "
                         f"reads versions up to {VERSION}")
    return arrays


def load_weights(model, path):
    """Copy the weights of a file written by :func:`save_weights` into ``model``.

    An unbuilt model is first built for the input shape stored in the file. Every
    parameter is checked (names, shapes, dtypes) before any is overwritten.

    Parameters
    ----------
    model : rnnlib.layers.Layer
        A layer or :class:`~rnnlib.layers.Sequential` of the same architecture.
    path : str or os.PathLike

    Returns
    -------
    model
        The same object, with its parameters overwritten in place.
    """
    arrays = _read(path)
    if not model.built:
        model.build(tuple(None if s < 0 else int(s) for s in arrays["__input_shape__"]))
    params = model.params
    stored = {k: v for k, v in arrays.items() if k not in _META}
    for k, p in params.items():
        if k not in stored:
            raise ValueError(f"the file has no weights for parameter {k!r} of the model; it "
                             f"holds {sorted(stored)} (a different architecture?)")
        if stored[k].shape != p.shape:
            raise ValueError(f"parameter {k!r} has shape {p.shape} in the model but "
                             f"{stored[k].shape} in the file")
        if stored[k].dtype != p.dtype:
            raise ValueError(f"parameter {k!r} has dtype {p.dtype} in the model but "
                             f"{stored[k].dtype} in the file")
    extra = [k for k in stored if k not in params]
    if extra:
        raise ValueError(f"the file holds {extra[0]!r}, which the model does not have; the "
                         f"model's parameters are {sorted(params)}")
    for k, p in params.items():
        p[...] = stored[k]
    return model
