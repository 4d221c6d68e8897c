"""Fixtures shared by the test suite.

RuntimeWarnings (overflow, invalid value, division by zero) are turned into errors by
``filterwarnings`` in pyproject.toml, so a test that silently produces NaN fails.
"""
import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh random generator with a fixed seed, so every test is reproducible."""
    return np.random.default_rng(0)
