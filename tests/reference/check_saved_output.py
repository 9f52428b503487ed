#!/usr/bin/python3
"""Reads back what `latdisp analyze --output` saved — HDF5 with h5py, safetensors
with a reader written here from the format's description — and checks every
tensor against exact values computed independently from the definitions
(tools/reference_analyze.py decodes each element format to exact fractions):
the dense integers plus the exceptions give back every x; U holds, in the
input's element format, the pattern whose value is U(b) (found by decoding
every pattern of the format, or by numpy for f32), a NaN where U is undefined.
The exact values are computed once and every SAVED file is checked against them.

usage: check_saved_output.py INPUT.h5 SAVED(.h5|.safetensors)... [--zero-ulp RULE]
                             [--epsilon EPS] [--dtype int8|int16|int32|int64] [--identical]
       check_saved_output.py --same SAVED OTHER   (identical tensor contents, bit for bit)
--identical: the SAVED files also hold identical tensor contents (as --same checks).
INPUT's element format is recognised as `latdisp analyze` does (float16, float32, FP8 by
the `dtype` attribute, 16-bit integers as bf16).
Prints one line per file and exits 0 on success; prints what differs and exits 1."""
import argparse
import json
import math
import os
import struct
import sys
from fractions import Fraction

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import reference_analyze as ref  # noqa: E402

SAFETENSORS_DTYPES = {"I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "BF16": np.uint16,
                      "F16": np.float16, "F32": np.float32, "F8_E4M3": np.uint8, "F8_E5M2": np.uint8,
                      "BOOL": np.bool_, "F64": np.float64, "U8": np.uint8}
# What U must be stored as, per format: safetensors dtype, HDF5 numpy dtype, HDF5 `dtype` attribute.
U_STORAGE = {"bf16": ("BF16", np.uint16, "bfloat16"), "f16": ("F16", np.float16, None),
             "f32": ("F32", np.float32, None), "f8e4m3": ("F8_E4M3", np.uint8, "float8_e4m3fn"),
             "f8e5m2": ("F8_E5M2", np.uint8, "float8_e5m2")}
KINDS = {"almost": 1, "half": 2, "non_integer": 3, "nonfinite": 4, "out_of_range": 5}
INT64 = (-2 ** 63, 2 ** 63 - 1)


def read_safetensors(path):
    """Validates the layout (length, JSON, contiguous offsets to the end of the file) and returns
    arrays, the metadata and each tensor's dtype name."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    assert 8 + length <= len(blob), "header length past the end of the file"
    text = blob[8:8 + length].decode("utf-8")
    assert text.startswith("{"), "header does not start with '{'"
    header = json.loads(text)
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()), "__metadata__ not str->str"
    data = blob[8 + length:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    position = 0
    for begin, end, name in spans:
        assert begin == position, f"hole or overlap before {name}: {begin} != {position}"
        position = end
    assert position == len(data), f"tensors end at {position}, data area has {len(data)} bytes"
    tensors, dtypes = {}, {}
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = int(np.prod(entry["shape"], dtype=np.int64)) if entry["shape"] else 1
        assert end - begin == count * np.dtype(dtype).itemsize, f"{name}: size does not match its shape"
        key = name.replace("exceptions.", "exceptions/")
        tensors[key] = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
        dtypes[key] = entry["dtype"]
    return tensors, metadata, dtypes


def read_hdf5(path):
    tensors, dtypes = {}, {}
    with h5py.File(path, "r") as f:
        for name in ("delta_W_prime", "U", "exponent_crossings", "dead_mask", "dead_token_ids",
                     "n_steps", "n_tokens", "n_dims", "n_dead"):
            if name in f:
                tensors[name] = f[name][()]
        if "U" in f:
            declared = f["U"].attrs.get("dtype")
            dtypes["U"] = declared.decode() if isinstance(declared, bytes) else declared
        for part in ("index", "value", "kind"):
            if f"exceptions/{part}" in f:
                tensors[f"exceptions/{part}"] = f[f"exceptions/{part}"][()]
        metadata = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
    for name in ("exponent_crossings", "dead_mask"):
        if name in tensors:
            assert tensors[name].dtype == np.bool_, f"{name} does not read back as numpy bool"
    return tensors, metadata, dtypes


def read_saved(path):
    return (read_safetensors if path.endswith(".safetensors") else read_hdf5)(path)


def same_contents(first, second):
    """Every tensor of the same dtype, shape and bytes (NaN payloads included)."""
    a, _, _ = read_saved(first)
    b, _, _ = read_saved(second)
    differing = [k for k in sorted(set(a) | set(b))
                 if k not in a or k not in b or a[k].dtype != b[k].dtype or a[k].shape != b[k].shape
                 or a[k].tobytes() != b[k].tobytes()]
    print(f"{first} vs {second}: " + (f"differ in {differing}" if differing else "identical tensor contents"))
    return 1 if differing else 0


def positive_patterns(kind):
    """{exact value: pattern} of every positive finite pattern of an 8- or 16-bit format."""
    total = ref.FORMATS[kind][0]
    table = {}
    for bits in range(1 << (total - 1)):
        v = ref.bf16_value(bits)
        if v is not None and v > 0:
            table[v] = bits
    return table


def pattern_of_power(kind, u, table):
    """The pattern of format `kind` whose value is u (a positive power of two)."""
    if kind == "f32":
        bits = int(np.array([float(u)], dtype=np.float32).view(np.uint32)[0])
        assert Fraction(float(np.array([float(u)], dtype=np.float32)[0])) == u, f"{u} is not a float32"
        return bits
    return table[u]


class Expected:
    """The exact outputs of one input and setting, computed once from the definitions."""

    def __init__(self, W, kind, zero_ulp, epsilon):
        self.kind = kind
        S, N, D = W.shape
        total, ebits, _, mbits, _ = ref.FORMATS[kind]
        exponent = (W >> mbits) & ((1 << ebits) - 1)
        self.crossings = exponent[1:] != exponent[:-1]
        table = positive_patterns(kind) if total < 32 else None
        self.u_bits = np.zeros(W.shape, dtype=np.int64)
        self.u_undefined = np.zeros(W.shape, dtype=bool)
        self.integer = np.zeros((S - 1, N, D), dtype=object)   # x where it is an integer, else None
        self.special = {}                                       # (t, n, d) -> (class, x or None)
        powers = {}
        for t in range(S):
            for n in range(N):
                for d in range(D):
                    b = int(W[t, n, d])
                    u = ref.bf16_ulp(b, zero_ulp)
                    if u is None:
                        self.u_undefined[t, n, d] = True
                    else:
                        if u not in powers:
                            powers[u] = pattern_of_power(kind, u, table)
                        self.u_bits[t, n, d] = powers[u]
                    if t == S - 1:
                        continue
                    va, vb = ref.bf16_value(int(W[t + 1, n, d])), ref.bf16_value(b)
                    if va is None or vb is None:
                        self.special[(t, n, d)] = ("nonfinite", None)
                        self.integer[t, n, d] = None
                        continue
                    x = (va - vb) / u
                    klass = ref.classify(x, Fraction(epsilon))
                    self.integer[t, n, d] = int(x) if klass == "exact" else None
                    if klass != "exact":
                        self.special[(t, n, d)] = (klass, x)

    def exceptions(self, low, high):
        """{(t, n, d): (kind, value)} for an integer dtype holding [low, high]."""
        table = {key: (KINDS[klass], math.nan if x is None else float(x)) for key, (klass, x) in self.special.items()}
        for key in zip(*np.nonzero(np.vectorize(lambda v: v is not None and not low <= v <= high, otypes=[bool])(
                self.integer))):
            x = self.integer[key]
            table[tuple(int(i) for i in key)] = (KINDS["out_of_range"], float(x))
        return table


def check_file(path, expected, W, dead, zero_ulp, dtype):
    S, N, D = W.shape
    tensors, metadata, dtypes = read_saved(path)
    problems = []

    def expect(condition, message):
        if not condition and len(problems) < 20:
            problems.append(message)

    expect(int(tensors["n_steps"]) == S - 1 and int(tensors["n_tokens"]) == N and int(tensors["n_dims"]) == D,
           "scalars n_steps/n_tokens/n_dims")
    expect(int(tensors["n_dead"]) == int(dead.sum()), "n_dead")
    expect(np.array_equal(tensors["dead_mask"].astype(bool), dead), "dead_mask")
    expect(np.array_equal(tensors["dead_token_ids"], np.flatnonzero(dead)), "dead_token_ids")
    delta = tensors["delta_W_prime"]
    if dtype:
        expect(delta.dtype == np.dtype(dtype), f"delta_W_prime dtype {delta.dtype}, expected {dtype}")
    info = np.iinfo(delta.dtype)

    # U: stored in the input's format, the pattern of U(b), a NaN where U is undefined.
    safetensors_dtype, hdf5_dtype, attribute = U_STORAGE[expected.kind]
    U = tensors["U"]
    if path.endswith(".safetensors"):
        expect(dtypes["U"] == safetensors_dtype, f"U stored as {dtypes['U']}, expected {safetensors_dtype}")
    else:
        expect(U.dtype == hdf5_dtype and dtypes.get("U") == attribute,
               f"U stored as {U.dtype} with dtype attribute {dtypes.get('U')}, expected {np.dtype(hdf5_dtype)} "
               f"with {attribute}")
    u = ref.raw_bits(U).astype(np.int64)
    wrong = np.flatnonzero((u != expected.u_bits) & ~expected.u_undefined)
    for i in wrong[:5]:
        t, n, d = np.unravel_index(i, U.shape)
        expect(False, f"U[{t},{n},{d}] = {u[t, n, d]:#x}, expected {expected.u_bits[t, n, d]:#x}")
    for bits in set(u[expected.u_undefined].tolist()):
        expect(not ref.is_finite(bits) and ref.fields(bits)[2] != 0, f"U holds {bits:#x} where U is undefined: not NaN")

    expect(np.array_equal(tensors["exponent_crossings"], expected.crossings), "exponent_crossings")

    # The dense integers and the exceptions together give back every x.
    table = expected.exceptions(int(info.min), int(info.max))
    dense = np.vectorize(lambda v: 0 if v is None or not info.min <= v <= info.max else v, otypes=[object])(
        expected.integer)
    for key in table:
        dense[key] = 0
    wrong = np.flatnonzero(delta.astype(object) != dense)
    for i in wrong[:5]:
        t, n, d = np.unravel_index(i, delta.shape)
        expect(False, f"delta_W_prime[{t},{n},{d}] = {delta[t, n, d]}, expected {dense[t, n, d]} "
                      f"(exception {table.get((t, n, d))})")
    index, values, kinds = tensors["exceptions/index"], tensors["exceptions/value"], tensors["exceptions/kind"]
    order = sorted(table, key=lambda k: (k[1], k[0], k[2]))
    expect([tuple(int(v) for v in row) for row in index] == order,
           f"exception rows: {len(index)} saved, {len(order)} expected, ordered by token, step, dim")
    for row, key in zip(range(len(index)), order):
        kind, value = table[key]
        same_value = (math.isnan(value) and math.isnan(values[row])) or values[row] == value
        expect(int(kinds[row]) == kind and same_value,
               f"exception {key}: saved (kind {kinds[row]}, {values[row]!r}), expected (kind {kind}, {value!r})")
    expect(metadata.get("arithmetic") == "exact" and metadata.get("zero_ulp") == zero_ulp, "provenance")
    expect(metadata.get("element_type", "bf16") == expected.kind,
           f"provenance element_type {metadata.get('element_type')}, expected {expected.kind}")
    if problems:
        print(f"{path}: " + "\n  ".join(problems))
        return 1
    print(f"{path}: every tensor matches ({expected.kind}, {len(index)} exceptions, delta as {delta.dtype})")
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--same":
        return same_contents(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("saved", nargs="+")
    parser.add_argument("--zero-ulp", default="min-normal")
    parser.add_argument("--epsilon", type=float, default=1e-6)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--identical", action="store_true")
    args = parser.parse_args()
    with h5py.File(args.input, "r") as f:
        kind = ref.dataset_format(f["W"])
        assert kind is not None, f"{args.input}: W is of no known element format"
        ref.use_format(kind)
        W = ref.raw_bits(f["W"][()]).astype(np.int64)
        dead = f["dead_mask"][()].astype(bool) if "dead_mask" in f else np.zeros(W.shape[1], bool)
    expected = Expected(W, kind, args.zero_ulp, args.epsilon)
    failures = sum(check_file(path, expected, W, dead, args.zero_ulp, args.dtype) for path in args.saved)
    if args.identical:
        failures += sum(same_contents(args.saved[0], other) for other in args.saved[1:])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
