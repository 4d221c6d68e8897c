r"""Saving and loading the weights of a layer or model as ``.npz`` files (never pickle).

A weights file is a NumPy ``.npz`` archive with one array per parameter, under the
model's parameter names (``"0.Wx"``, ``"1.forward.Wh"``, ...), plus three entries of
metadata: ``__format__`` (the string ``"rnnlib-weights"``), ``__version__`` (an integer)
and ``__input_shape__`` (the input shape the model was built for, -1 for a free size).
It is read with ``allow_pickle=False``, so loading a file cannot run code, and checked
against the model before anything is copied: a file that does not match raises a
``ValueError`` naming the first parameter that is missing, unexpected, or of another
shape or dtype.

The two helpers :func:`save_archive` and :func:`load_archive` write and read any such
archive with a format marker and version; :mod:`rnnlib.esn` and :mod:`rnnlib.charlm` store
their models with them too.

Weights files work for anything of :mod:`rnnlib.layers` (a :class:`~rnnlib.layers.Sequential` or a
single layer): the model's ``params`` are the arrays written and, on loading, overwritten
in place, so an optimizer holding them keeps working.
"""
import os
import tempfile
import zipfile

import numpy as np

from ._validation import check_array, check_int

FORMAT = "rnnlib-weights"
VERSION = 1
_META = ("__format__", "__version__", "__input_shape__")


def save_archive(path, fmt, version, arrays):
    """Write ``arrays`` to an ``.npz`` file with the entries ``__format__`` (``fmt``) and
    ``__version__`` (``version``).

    Parameters
    ----------
    path : str or os.PathLike
        Target file; ``.npz`` is appended when missing (as ``numpy.savez`` does).
    fmt : str
        The format marker, e.g. ``"rnnlib-weights"``.
    version : int
    arrays : dict of ndarray
        Numbers and strings only (no object arrays).

    Returns
    -------
    path : str
        The file written.

    Notes
    -----
    The write is atomic: the archive goes to a temporary file in the target's folder,
    which replaces the target (``os.replace``) only once it is complete, so a save that
    fails midway (a full disk, an interrupt, an array that cannot be stored) leaves the
    previous file as it was. Object arrays are refused: the file never needs pickle.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    check_int("version", version)
    if not isinstance(arrays, dict):
        raise ValueError(f"arrays must be a dict of arrays; got {type(arrays).__name__}")
    for k, a in arrays.items():
        if not isinstance(k, str) or k in ("__format__", "__version__"):
            raise ValueError(f"arrays may not have the entry {k!r}")
        check_array(f"arrays[{k!r}]", np.asarray(a), floating=False)
        if np.asarray(a).dtype.kind not in "biufcUS":
            raise ValueError(f"arrays[{k!r}] has dtype {np.asarray(a).dtype}: only numbers "
                             "and strings are stored (never pickled objects)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the folder of {path!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __format__=np.array(fmt), __version__=np.array(version), **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def load_archive(path, fmt, version, what):
    """Read an ``.npz`` file written by :func:`save_archive` with ``allow_pickle=False``.

    Parameters
    ----------
    path : str or os.PathLike
    fmt : str
        The format marker the file must carry.
    version : int
        The newest version this code reads.
    what : str
        What the file should be, for the error messages (e.g. ``"an rnnlib weights file"``).

    Returns
    -------
    arrays : dict of ndarray
        Every entry of the archive, the markers included.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not an ``.npz`` archive, has no ``__format__ = fmt`` entry, or has
        a newer version.
    """
    name = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an .npz archive")
        with data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{name!r} is not {what} (.npz): {err}") from None
    marker = arrays.get("__format__")
    if marker is None or marker.shape != () or str(marker) != fmt:
        raise ValueError(f"{name!r} is an .npz archive but not {what} "
                         f"(no __format__ = {fmt!r} entry)")
    found = int(arrays["__version__"]) if "__version__" in arrays else None
    if found is None or found > version:
        raise ValueError(f"{name!r} has format version {found}; this rnnlib reads "
                         f"versions up to {version}")
    return arrays


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
    shape = np.array([-1 if s is None else s for s in model.input_shape], dtype=np.int64)
    return save_archive(path, FORMAT, VERSION, dict(model.params, __input_shape__=shape))


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
    arrays = load_archive(path, FORMAT, VERSION, "an rnnlib weights file")
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
        if not np.all(np.isfinite(stored[k])):
            raise ValueError(f"parameter {k!r} holds NaN or infinity in the file")
    extra = [k for k in stored if k not in params]
    if extra:
        raise ValueError(f"the file holds {extra[0]!r}, which the model does not have; the "
                         f"model's parameters are {sorted(params)}")
    for k, p in params.items():
        p[...] = stored[k]
    return model
