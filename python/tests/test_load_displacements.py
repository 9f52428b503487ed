"""load_displacements: every x of a saved analyze --output rebuilt exactly (against the
exact reference, tools/reference_analyze.py), and damaged or partial files refused."""
import shutil
from fractions import Fraction

import pytest

import latdisp
from conftest import needs_latdisp

np = pytest.importorskip("numpy")
h5py = pytest.importorskip("h5py")
pytestmark = needs_latdisp

EPSILON = 1e-6


def bf16(value):
    """The bits of a float that bfloat16 holds exactly."""
    bits = int(np.array([value], dtype=np.float32).view(np.uint32)[0])
    assert bits & 0xFFFF == 0, value
    return bits >> 16


def planted_trajectory(path):
    """Random small moves around 1.0 plus planted coordinates of every kind: half (into a
    finer binade), quarters, almost (2^-20 after 1024: x = -128 + 2^-23), a move of 300
    cells (beyond int8), zero, subnormals, Inf and NaN."""
    rng = np.random.default_rng(7)
    steps, tokens, dims = 4, 6, 5
    w = (bf16(1.0) + rng.integers(-3, 4, size=(steps, tokens, dims)).cumsum(axis=0)).astype(np.uint16)
    planted = [(0, 0, 0, 2.0, 2.0 - 2 ** -7), (0, 0, 1, 4.0, 2.0 - 2 ** -7), (0, 0, 2, 1024.0, 2.0 ** -20),
               (0, 0, 3, 1.0, 1.0 + 300 * 2 ** -7), (0, 1, 0, 0.0, 2.0 ** -130), (0, 1, 1, 2.0 ** -131, -(2.0 ** -126)),
               (0, 1, 2, 1.0, float("inf")), (1, 1, 3, -3.0, -(2.0 ** 40)), (2, 2, 4, 2.0 ** 100, -(2.0 ** -100))]
    for t, n, d, before, after in planted:
        w[t, n, d], w[t + 1, n, d] = bf16(before), bf16(after)
    w[2, 3, 0] = 0x7FC0                                           # NaN
    with h5py.File(path, "w") as f:
        f["W"] = w
        f["dead_mask"] = np.arange(tokens) % 2 == 1
    return w


def exact_x(w, reference, zero_ulp="min-normal"):
    """x from the definitions: Fractions, correctly rounded to double; NaN where non-finite;
    and the class of each finite x."""
    steps, tokens, dims = w.shape
    x = np.empty((steps - 1, tokens, dims))
    classes = {"exact": 0, "almost": 0, "half": 0, "non_integer": 0, "nonfinite": 0}
    for t in range(steps - 1):
        for n in range(tokens):
            for d in range(dims):
                b, a = int(w[t, n, d]), int(w[t + 1, n, d])
                vb, va = reference.bf16_value(b), reference.bf16_value(a)
                if vb is None or va is None:
                    x[t, n, d] = np.nan
                    classes["nonfinite"] += 1
                    continue
                q = (va - vb) / reference.bf16_ulp(b, zero_ulp)
                x[t, n, d] = float(q)
                classes[reference.classify(q, Fraction(EPSILON))] += 1
    return x, classes


def same(a, b):
    return a.dtype == np.float64 and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.fixture(scope="module")
def planted(tmp_path_factory, reference):
    path = tmp_path_factory.mktemp("planted") / "W.h5"
    w = planted_trajectory(path)
    return path, w, exact_x(w, reference)


@pytest.mark.parametrize("ranks", [1, 2, 3])
@pytest.mark.parametrize("suffix", [".h5", ".safetensors"])
@pytest.mark.parametrize("save_dtype", ["auto", "int8"])
def test_every_x_comes_back_exactly(planted, work, ranks, suffix, save_dtype):
    path, w, (expected, classes) = planted
    report = latdisp.run("analyze", ranks=ranks, input=str(path), output="out" + suffix, save_dtype=save_dtype)
    for kind in ("almost", "half", "non_integer", "nonfinite"):
        assert classes[kind] > 0 and report["displacement"][kind] == classes[kind], kind
    x = latdisp.load_displacements("out" + suffix, report=report)
    assert same(x, expected)
    if save_dtype == "int8":
        assert report["output"]["delta_dtype"] == "int8" and np.nanmax(np.abs(expected)) > 127


def test_generated_trajectory_with_specials(trajectory, reference, work):
    with h5py.File(trajectory, "r") as f:
        w = f["W"][...].view(np.uint16)
    expected, _ = exact_x(w, reference)
    report = latdisp.run("analyze", ranks=2, input=str(trajectory), output="out.h5", save_dtype="int16")
    assert same(latdisp.load_displacements("out.h5", report=report.data), expected)


def test_min_subnormal_zero_ulp(planted, reference, work):
    path, w, _ = planted
    expected, _ = exact_x(w, reference, "min-subnormal")
    report = latdisp.run("analyze", ranks=2, input=str(path), output="out.safetensors", zero_ulp="min-subnormal")
    assert same(latdisp.load_displacements("out.safetensors", report), expected)


def test_a_file_without_the_exceptions_is_refused(planted, work):
    path, _, _ = planted
    latdisp.run("analyze", input=str(path), output="dense.h5", outputs="delta_W_prime,scalars")
    with pytest.raises(ValueError, match="lacks exceptions/index"):
        latdisp.load_displacements("dense.h5")
    latdisp.run("analyze", input=str(path), output="sparse.safetensors", outputs="exceptions")
    with pytest.raises(ValueError, match="lacks delta_W_prime"):
        latdisp.load_displacements("sparse.safetensors")


def _rewrite_exceptions(source, target, edit):
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        parts = {k: f["exceptions/" + k][...] for k in ("index", "value", "kind")}
        parts = edit(parts)
        for k, v in parts.items():
            del f["exceptions/" + k]
            f["exceptions/" + k] = v


def test_damaged_files_are_refused(planted, work):
    path, _, _ = planted
    report = latdisp.run("analyze", ranks=2, input=str(path), output="out.h5")
    _rewrite_exceptions("out.h5", "dropped.h5", lambda p: {k: v[1:] for k, v in p.items()})
    latdisp.load_displacements("dropped.h5")               # consistent in itself: only the report tells
    with pytest.raises(ValueError, match="missing"):
        latdisp.load_displacements("dropped.h5", report=report)
    _rewrite_exceptions("out.h5", "repeated.h5", lambda p: {k: np.concatenate([v[:1], v]) for k, v in p.items()})
    with pytest.raises(ValueError, match="without repeats"):
        latdisp.load_displacements("repeated.h5")
    def outside(p):
        p["index"][0, 1] = 99
        return p
    _rewrite_exceptions("out.h5", "outside.h5", outside)
    with pytest.raises(ValueError, match="outside"):
        latdisp.load_displacements("outside.h5")
    def finite_nonfinite(p):
        p["value"][p["kind"] == 4] = 1.5
        return p
    _rewrite_exceptions("out.h5", "kinds.h5", finite_nonfinite)
    with pytest.raises(ValueError, match="kind"):
        latdisp.load_displacements("kinds.h5")
    shutil.copy("out.h5", "dense.h5")
    with h5py.File("dense.h5", "r+") as f:
        t, n, d = f["exceptions/index"][0]
        f["delta_W_prime"][t, n, d] = 1
    with pytest.raises(ValueError, match="not 0"):
        latdisp.load_displacements("dense.h5")
    with pytest.raises(FileNotFoundError):
        latdisp.load_displacements("nope.h5")
