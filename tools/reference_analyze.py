#!/usr/bin/python3
"""Slow, simple, exact reference of `latdisp analyze` (docs/definitions.md and docs/report.md, exact arithmetic).

Everything is computed from first principles with fractions.Fraction: each bit pattern of
the element format (bf16, f16, f32, f8e4m3 = OCP E4M3FN, f8e5m2; docs/definitions.md §17)
is decoded to an exact rational, ULPs are exact powers of two, displacements
x = (a - b) / U(b) are exact rationals.  Only the magnitude statistics go through doubles,
as docs/definitions.md §9 defines (correctly rounded double of each x, numpy's pairwise sum, numpy's
median/percentile).

Prints (or writes with --output) a JSON object with the keys of the C++ report, except
"run", "motion", "near_zero" (its oracle is tests/researcher/check_near_zero.py), input's
"format", "skipped" and "steps", and displacement's "notebook_symmetric_dtype", "verdict_reason", "arithmetic_disagreement_causes" and (bf16 only)
"arithmetic_disagreements", not computed (tests/check_report_schema.py: REFERENCE_OMITS).

usage: reference_analyze.py W.h5|W.safetensors|SERIES_FOLDER [--dataset W] [--dead-mask dead_mask]
                            [--epsilon 1e-6] [--zero-ulp min-normal|min-subnormal]
                            [--element-type bf16|f16|f32|f8e4m3|f8e5m2] [--output REF.json]

The format: --element-type, else the dataset's: float16 -> f16, float32 -> f32, 8-bit
integers by their `dtype` attribute (float8_e4m3fn, float8_e5m2), 16-bit integers -> bf16;
safetensors dtypes BF16 (U16, I16), F16, F32, F8_E4M3, F8_E5M2. A series folder holds one
checkpoint (N, D) per step (.safetensors files, or folders with model.safetensors), ordered
by the last integer in their names, the dead mask in the first.
"""
import argparse
import json
import math
import os
import re
import sys
from fractions import Fraction

import h5py
import numpy as np

TWO24 = Fraction(2) ** 24
TWO53 = Fraction(2) ** 53
HALF = Fraction(1, 2)
DTYPES = [("int8", 8), ("int16", 16), ("int32", 32), ("int64", 64)]
PERCENTILES = ["50", "90", "95", "99", "99.9"]


# ---------------------------------------------------------------- element formats
# name: (total bits, exponent bits, bias, stored mantissa bits, E4M3FN-style specials)
FORMATS = {"bf16": (16, 8, 127, 7, False), "f16": (16, 5, 15, 10, False), "f32": (32, 8, 127, 23, False),
           "f8e4m3": (8, 4, 7, 3, True), "f8e5m2": (8, 5, 15, 2, False)}
FORMAT = FORMATS["bf16"]


def fields(bits):
    total, ebits, _, mbits, _ = FORMAT
    return (bits >> (total - 1)) & 1, (bits >> mbits) & ((1 << ebits) - 1), bits & ((1 << mbits) - 1)


def is_finite(bits):
    total, ebits, _, mbits, fn = FORMAT
    s, e, m = fields(bits)
    if fn:   # only S.1111.111 is NaN; the top binade is normal
        return not (e == (1 << ebits) - 1 and m == (1 << mbits) - 1)
    return e != (1 << ebits) - 1


_value_cache = {}


def use_format(kind):
    """Decode patterns as format `kind` (a key of FORMATS) from now on."""
    global FORMAT
    FORMAT = FORMATS[kind]
    _value_cache.clear()


def dataset_format(ds, element_type=None):
    """The element format of HDF5 dataset `ds` as the module docstring says, or None."""
    declared = ds.attrs.get("dtype")
    declared = declared.decode() if isinstance(declared, bytes) else declared
    kind = {"float16": "f16", "float32": "f32"}.get(str(ds.dtype))
    if kind is None and ds.dtype.itemsize == 1:
        kind = {"float8_e4m3fn": "f8e4m3", "float8_e5m2": "f8e5m2"}.get(declared)
    if kind is None and ds.dtype.itemsize == 2:
        kind = "bf16"
    kind = element_type or kind
    if kind is None or FORMATS[kind][0] != 8 * ds.dtype.itemsize:
        return None
    return kind


def raw_bits(array):
    """The stored bit patterns of an array of 1, 2 or 4-byte elements, as unsigned integers."""
    return np.asarray(array).view({1: np.uint8, 2: np.uint16, 4: np.uint32}[array.dtype.itemsize])


def bf16_value(bits):
    """Exact value of a finite pattern of the format, None for Inf/NaN."""
    v = _value_cache.get(bits, False)
    if v is not False:
        return v
    _, _, bias, mbits, _ = FORMAT
    s, e, m = fields(bits)
    if not is_finite(bits):
        v = None
    elif e == 0:
        v = Fraction(m) * Fraction(2) ** (1 - bias - mbits)              # subnormal (or zero)
    else:
        v = Fraction((1 << mbits) + m) * Fraction(2) ** (e - bias - mbits)  # (1.M) * 2^(E - bias)
    if v is not None and s:
        v = -v
    _value_cache[bits] = v
    return v


def bf16_ulp(bits, zero_ulp):
    _, _, bias, mbits, _ = FORMAT
    s, e, m = fields(bits)
    if not is_finite(bits):
        return None
    if e == 0:
        if m != 0:
            return Fraction(2) ** (1 - bias - mbits)
        return Fraction(2) ** (1 - bias) if zero_ulp == "min-normal" else Fraction(2) ** (1 - bias - mbits)
    return Fraction(2) ** (e - bias - mbits)


# ---------------------------------------------------------------- helpers
def fl(q):
    """Correctly rounded double of a Fraction (Python's int true division is correctly rounded)."""
    return float(q)


def float32_exact(q):
    d = float(q)
    if Fraction(d) != q:
        return False
    if abs(d) > float(np.finfo(np.float32).max):
        return False
    return float(np.float32(d)) == d


def classify(x, eps):
    n = round(x)                       # half-even on Fraction
    r = abs(x - n)
    if r == 0:
        return "exact"
    if r < eps:
        return "almost"
    if abs(r - HALF) < eps:
        return "half"
    return "non_integer"


def recommended(imin, imax):
    if imin is None:
        return None
    for name, b in DTYPES:
        if -(2 ** (b - 1)) <= imin and imax <= 2 ** (b - 1) - 1:
            return name
    return None


def verdict(c):
    if c["non_integer"] > 0:
        return "GENERAL_QUARTERS"
    if c["half"] > 0:
        return "HALF_INTEGERS"
    if c["almost"] > 0:
        return "ROUNDING"
    return "PERFECT"


def mean_of(values):
    """float(exact sum) / count, as the brief defines the mean."""
    if not values:
        return None
    total = sum((Fraction(v) for v in values), Fraction(0))
    return float(total) / len(values)


# ---------------------------------------------------------------- sections
def displacement_section(X, S, N, D, tokens):
    classes = ["exact", "almost", "half", "non_integer", "nonfinite"]
    c = {k: 0 for k in classes}
    per = {k: [0] * (S - 1) for k in classes + ["moved"]}
    moved = 0
    beyond32 = beyond64 = f32_inexact = 0
    xmin = xmax = xabs = None
    imin = imax = None
    for t in range(S - 1):
        for n in tokens:
            for d in range(D):
                x, cls = X[t][n][d]
                c[cls] += 1
                per[cls][t] += 1
                if x is None:
                    continue
                if x != 0:
                    moved += 1
                    per["moved"][t] += 1
                ax = abs(x)
                xmin = x if xmin is None or x < xmin else xmin
                xmax = x if xmax is None or x > xmax else xmax
                xabs = ax if xabs is None or ax > xabs else xabs
                if ax > TWO24:
                    beyond32 += 1
                if ax > TWO53:
                    beyond64 += 1
                if not float32_exact(x):
                    f32_inexact += 1
                i = round(x)
                imin = i if imin is None or i < imin else imin
                imax = i if imax is None or i > imax else imax
    out = {"coordinates": (S - 1) * len(tokens) * D}
    out.update(c)
    out.update({
        "min": None if xmin is None else fl(xmin),
        "max": None if xmax is None else fl(xmax),
        "max_abs": None if xabs is None else fl(xabs),
        "beyond_float32_exact": beyond32,
        "beyond_float64_exact": beyond64,
        "float32_inexact": f32_inexact,
        "integer_min": None if imin is None else float(imin),
        "integer_max": None if imax is None else float(imax),
        "recommended_dtype": recommended(imin, imax),
        "verdict": verdict(c),
        "moved": moved,
        "per_step": per,
    })
    if FORMAT != FORMATS["bf16"]:
        out["arithmetic_disagreements"] = None   # the seed arithmetic is bf16's
    return out


def magnitude_section(M, S, tokens):
    finite = []
    nonfinite = 0
    per_step_vals = [[] for _ in range(S - 1)]
    for t in range(S - 1):
        for n in tokens:
            m = M[t][n]
            if m is None:
                nonfinite += 1
            else:
                finite.append(m)
                per_step_vals[t].append(m)
    out = {"count": len(finite), "nonfinite": nonfinite}
    if finite:
        arr = np.array(finite, dtype=np.float64)
        pct = np.percentile(arr, [50, 90, 95, 99, 99.9])
        out.update({
            "min": float(arr.min()), "max": float(arr.max()),
            "mean": mean_of(finite), "median": float(np.median(arr)),
            "percentiles": {k: float(v) for k, v in zip(PERCENTILES, pct)},
        })
    else:
        out.update({"min": None, "max": None, "mean": None, "median": None,
                    "percentiles": {k: None for k in PERCENTILES}})
    out["per_step"] = {
        "mean": [mean_of(v) for v in per_step_vals],
        "max": [max(v) if v else None for v in per_step_vals],
    }
    zero = sum(1 for m in finite if m == 0.0)
    pos = [m for m in finite if m > 0.0]
    if pos:
        ks = [math.frexp(m)[1] - 1 for m in pos]   # floor(log2 m), exact
        lo, hi = min(ks), max(ks)
        counts = [0] * (hi - lo + 1)
        for k in ks:
            counts[k - lo] += 1
        out["histogram"] = {"zero": zero, "log2_lo": lo, "counts": counts}
    else:
        out["histogram"] = {"zero": zero, "log2_lo": None, "counts": []}
    return out


def crossings_section(W, S, N, D, tokens):
    per = [0] * (S - 1)
    for t in range(S - 1):
        for n in tokens:
            for d in range(D):
                if fields(W[t][n][d])[1] != fields(W[t + 1][n][d])[1]:
                    per[t] += 1
    transitions = (S - 1) * len(tokens) * D
    crossed = sum(per)
    return {"transitions": transitions, "crossed": crossed, "same": transitions - crossed,
            "per_step": per}


def ulp_section(W, S, N, D, zero_ulp):
    zeros = subn = nonf = 0
    umin = umax = None
    for t in range(S):
        for n in range(N):
            for d in range(D):
                b = W[t][n][d]
                s, e, m = fields(b)
                if not is_finite(b):
                    nonf += 1
                    continue
                if e == 0:
                    if m == 0:
                        zeros += 1
                    else:
                        subn += 1
                u = bf16_ulp(b, zero_ulp)
                umin = u if umin is None or u < umin else umin
                umax = u if umax is None or u > umax else umax
    return {"zeros": zeros, "subnormals": subn, "nonfinite": nonf,
            "min": None if umin is None else fl(umin), "max": None if umax is None else fl(umax)}


# ---------------------------------------------------------------- inputs
def read_hdf5_input(path, dataset, dead_mask, element_type):
    """(format, stored dtype, raw bits (S, N, D), dead mask or None) of an HDF5 trajectory."""
    with h5py.File(path, "r") as f:
        ds = f[dataset]
        kind = dataset_format(ds, element_type)
        if ds.ndim != 3 or kind is None:
            sys.exit(f"{dataset}: expected a 3-D dataset of a known element format, found {ds.dtype} {ds.shape}")
        return kind, str(ds.dtype), raw_bits(ds[...]), (f[dead_mask][...] if dead_mask in f else None)


# safetensors dtype: (format, numpy dtype of the stored bits)
SAFETENSORS_FORMATS = {"BF16": ("bf16", "<u2"), "U16": ("bf16", "<u2"), "I16": ("bf16", "<u2"),
                       "F16": ("f16", "<u2"), "F32": ("f32", "<u4"), "F8_E4M3": ("f8e4m3", "u1"),
                       "F8_E5M2": ("f8e5m2", "u1"), "BOOL": (None, "u1"), "U8": (None, "u1"), "I8": (None, "i1")}


def read_safetensors_tensors(path):
    """{name: (dtype, numpy array of the stored values or bits)}, from the format's description: an
    8-byte little-endian header length, the JSON header, then the data buffer."""
    with open(path, "rb") as f:
        blob = f.read()
    length = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + length])
    header.pop("__metadata__", None)
    data = blob[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] in SAFETENSORS_FORMATS:
            begin, end = entry["data_offsets"]
            array = np.frombuffer(data[begin:end], dtype=SAFETENSORS_FORMATS[entry["dtype"]][1])
            tensors[name] = (entry["dtype"], array.reshape(entry["shape"]))
    return tensors


def series_files(folder):
    """The checkpoints of a series folder (.safetensors files, or folders with model.safetensors),
    ordered by the last integer in their names."""
    entries = []
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            path = os.path.join(path, "model.safetensors")
        elif not name.endswith(".safetensors"):
            continue
        numbers = re.findall(r"\d+", name)
        entries.append((int(numbers[-1]) if numbers else -1, name, path))
    return [path for _, _, path in sorted(entries)]


def read_safetensors_input(path, dataset, dead_mask, element_type):
    """(format, stored dtype, raw bits (S, N, D), dead mask or None) of a safetensors trajectory or
    a series folder (W (N, D) in each checkpoint, the dead mask in the first)."""
    files = series_files(path) if os.path.isdir(path) else [path]
    steps = [read_safetensors_tensors(file) for file in files]
    dtype = steps[0][dataset][0]
    raw = np.stack([tensors[dataset][1] for tensors in steps]) if os.path.isdir(path) else steps[0][dataset][1]
    kind = element_type or SAFETENSORS_FORMATS[dtype][0]
    if raw.ndim != 3 or kind is None or FORMATS[kind][0] != 8 * raw.dtype.itemsize:
        sys.exit(f"{dataset}: expected a trajectory of a known element format, found {dtype} {list(raw.shape)}")
    return kind, dtype, raw.view({1: np.uint8, 2: np.uint16, 4: np.uint32}[raw.dtype.itemsize]), \
        (steps[0][dead_mask][1] if dead_mask in steps[0] else None)


# ---------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("--dataset", default="W")
    ap.add_argument("--dead-mask", default="dead_mask")
    ap.add_argument("--epsilon", type=float, default=1e-6)
    ap.add_argument("--zero-ulp", choices=["min-normal", "min-subnormal"], default="min-normal")
    ap.add_argument("--element-type", choices=sorted(FORMATS))
    ap.add_argument("--output")
    a = ap.parse_args(argv)
    if os.path.isdir(a.input) or a.input.endswith(".safetensors"):
        kind, in_dtype, raw, mask = read_safetensors_input(a.input, a.dataset, a.dead_mask, a.element_type)
    else:
        kind, in_dtype, raw, mask = read_hdf5_input(a.input, a.dataset, a.dead_mask, a.element_type)
    use_format(kind)
    mask_found = mask is not None
    if mask_found:
        mask = np.asarray(mask).astype(np.int64)
        if mask.shape != (raw.shape[1],) or not np.all((mask == 0) | (mask == 1)):
            sys.exit("bad dead mask")
    else:
        mask = np.zeros(raw.shape[1], dtype=np.int64)
    S, N, D = (int(v) for v in raw.shape)
    W = raw.tolist()
    eps = Fraction(a.epsilon)

    # exact displacements and their classes
    X = []
    for t in range(S - 1):
        rows = []
        for n in range(N):
            row = []
            for d in range(D):
                b, c = W[t][n][d], W[t + 1][n][d]
                vb, vc = bf16_value(b), bf16_value(c)
                if vb is None or vc is None:
                    row.append((None, "nonfinite"))
                    continue
                x = (vc - vb) / bf16_ulp(b, a.zero_ulp)
                row.append((x, classify(x, eps)))
            rows.append(row)
        X.append(rows)

    # magnitudes per (t, n): numpy pairwise sum of the correctly rounded doubles
    M = []
    for t in range(S - 1):
        mrow = []
        for n in range(N):
            row = X[t][n]
            if any(x is None for x, _ in row):
                mrow.append(None)
                continue
            xs = np.ascontiguousarray([fl(x) for x, _ in row], dtype=np.float64)
            m = float(np.sqrt(np.add.reduce(xs * xs)))
            mrow.append(m if math.isfinite(m) else None)   # overflow of a finite row: counted non-finite
        M.append(mrow)

    groups = {"all": list(range(N)),
              "live": [n for n in range(N) if mask[n] == 0],
              "dead": [n for n in range(N) if mask[n] == 1]}

    def build(fn, *args):
        sec = fn(*args, groups["all"])
        sec["live"] = fn(*args, groups["live"])
        sec["dead"] = fn(*args, groups["dead"])
        return sec

    n_dead = len(groups["dead"])
    report = {
        "schema": "latdisp.analyze/1",
        "input": {"path": a.input, "dataset": a.dataset, "shape": [S, N, D], "dtype": in_dtype,
                  "element_type": kind,
                  "dead_mask": a.dead_mask if mask_found else None,
                  "n_dead": n_dead, "dead_fraction": n_dead / N},
        "ulp": ulp_section(W, S, N, D, a.zero_ulp),
        "displacement": build(displacement_section, X, S, N, D),
        "magnitude": build(magnitude_section, M, S),
        "crossings": build(crossings_section, W, S, N, D),
    }
    text = json.dumps(report, indent=1, sort_keys=True)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
