"""What the package's command lines share: option types and one-line errors.

``python -m rnnlib.experiments``, ``python -m rnnlib.charlm`` and ``benchmarks/bench.py``
parse their options with these, so that a bad option reads the same everywhere: one
line on stderr naming the option and what it must be, exit status 2, no usage dump and
no traceback.

- :class:`Parser`: an :class:`argparse.ArgumentParser` whose usage errors are one line.
- :func:`positive_int`, :func:`non_negative_int`, :func:`positive_float`: option types.
- :func:`int_list`: a comma-separated list of distinct positive integers (``--T 20,50``).
- :func:`choice_list`: a comma-separated subset of known names (``--models lstm,gru``).
- :func:`output_file_problem`: why a file cannot be written at a path, or ``None``; the
  commands check it before any work starts, so a long run never ends unable to save.
"""

import argparse
import math
import os

__all__ = ["Parser", "positive_int", "non_negative_int", "positive_float", "int_list",
           "choice_list", "output_file_problem"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _integer(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def positive_int(text):
    """An option type: an integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def non_negative_int(text):
    """An option type: an integer >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def positive_float(text):
    """An option type: a finite number > 0."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def int_list(text):
    """An option type: comma-separated distinct positive integers, e.g. ``20,50,100``."""
    values = [positive_int(part.strip()) for part in str(text).split(",")]
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"repeated value in {text!r}")
    return values


def choice_list(name, known):
    """An option type for a comma-separated subset of ``known`` (the ``name`` of the
    option's items appears in the error, e.g. "unknown models ['rnm']")."""
    known = tuple(known)

    def parse(text):
        items = [s.strip() for s in str(text).split(",") if s.strip()]
        unknown = [s for s in items if s not in known]
        if not items or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {name} {unknown or text!r}; choose from {', '.join(known)}")
        return items
    return parse


def output_file_problem(path):
    """Why ``path`` cannot be written as a file (a sentence), or ``None`` when it can:
    its folder must exist and be writable, and the path must not be a folder nor a
    read-only file."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{path}: the folder {folder} does not exist"
    if os.path.isdir(path):
        return f"{path}: is a folder, not a file"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"{path}: not writable"
    return None
