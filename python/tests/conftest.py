"""Shared fixtures of the latdisp package's tests.

The tests import the package from this checkout (python/), run the executable named by
LATDISP (CTest sets it to the built one), and use the repository's exact reference
(tools/reference_analyze.py) as the oracle. Open MPI's root and oversubscription
variables are removed from the environment, so the runs prove that latdisp.run adds the
flags itself.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]          # python/
REPOSITORY = PACKAGE_ROOT.parent
sys.path.insert(0, str(PACKAGE_ROOT))

import latdisp  # noqa: E402

for variable in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "OMPI_MCA_rmaps_base_oversubscribe"):
    os.environ.pop(variable, None)


def _executable():
    try:
        return latdisp.find_executable()
    except latdisp.LatdispError:
        return None


EXECUTABLE = _executable()
needs_latdisp = pytest.mark.skipif(EXECUTABLE is None, reason="no latdisp executable (set LATDISP=build/latdisp)")


def has_subcommand(name):
    return EXECUTABLE is not None and name in latdisp.subcommands()


def needs_subcommand(name):
    return pytest.mark.skipif(not has_subcommand(name),
                              reason=f"this latdisp executable has no '{name}' subcommand yet")


def module_available(name):
    return importlib.util.find_spec(name) is not None


needs_torch = pytest.mark.skipif(not module_available("torch"), reason="torch is not installed")


@pytest.fixture(scope="session")
def reference():
    """tools/reference_analyze.py as a module: exact bfloat16 values and ULPs (Fractions)."""
    spec = importlib.util.spec_from_file_location("reference_analyze", REPOSITORY / "tools" / "reference_analyze.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A fresh folder, also the current one."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def trajectory(tmp_path_factory):
    """A small generated trajectory with subnormals, Inf and NaN (every class and kind)."""
    folder = tmp_path_factory.mktemp("trajectory")
    path = folder / "W.h5"
    latdisp.run("generate", ranks=2, output=str(path), steps=7, tokens=45, dims=8, special=True, seed=5)
    return path


def assert_same_values(frame, expected):
    """Equal column names and values, every double bit for bit (NaN where NaN)."""
    import numpy as np
    assert list(frame.columns) == list(expected.columns)
    assert len(frame) == len(expected)
    for column in expected.columns:
        a, b = frame[column].to_numpy(), expected[column].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a, b = a.astype(np.float64), b.astype(np.float64)
            assert np.array_equal(np.isnan(a), np.isnan(b)), column
            assert (a[~np.isnan(a)] == b[~np.isnan(b)]).all(), column
        else:
            assert (a == b).all(), column
