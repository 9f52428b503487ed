#!/usr/bin/python3
"""Reads back what `latdisp analyze --output` saved — HDF5 with h5py, safetensors
with a reader written here from the format's description — and checks every
tensor against exact values computed independently (tools/reference_analyze.py):
the dense integers plus the exceptions give back every x.

usage: check_saved_output.py INPUT.h5 SAVED(.h5|.safetensors) [--zero-ulp RULE]
                             [--epsilon EPS] [--dtype int8|int16|int32|int64]
       check_saved_output.py --same SAVED OTHER   (identical tensor contents)
Prints one line and exits 0 on success; prints what differs and exits 1."""
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
from reference_analyze import bf16_ulp, bf16_value, classify  # noqa: E402

SAFETENSORS_DTYPES = {"I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "BF16": np.uint16,
                      "BOOL": np.bool_, "F64": np.float64, "U8": np.uint8}
KINDS = {"almost": 1, "half": 2, "non_integer": 3, "nonfinite": 4}


def read_safetensors(path):
    """Validates the layout (length, JSON, contiguous offsets to the end of the file) and returns arrays."""
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
    tensors = {}
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = int(np.prod(entry["shape"], dtype=np.int64)) if entry["shape"] else 1
        assert end - begin == count * np.dtype(dtype).itemsize, f"{name}: size does not match its shape"
        array = np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
        tensors[name] = array
    for key in ("exceptions.index", "exceptions.value", "exceptions.kind"):
        if key in tensors:
            tensors[key.replace(".", "/")] = tensors.pop(key)
    return tensors, metadata


def read_hdf5(path):
    tensors = {}
    with h5py.File(path, "r") as f:
        for name in ("delta_W_prime", "U", "exponent_crossings", "dead_mask", "dead_token_ids",
                     "n_steps", "n_tokens", "n_dims", "n_dead"):
            if name in f:
                tensors[name] = f[name][()]
        if "U" in f:
            assert f["U"].attrs["dtype"] in ("bfloat16", b"bfloat16"), "U lacks dtype=bfloat16"
        for part in ("index", "value", "kind"):
            if f"exceptions/{part}" in f:
                tensors[f"exceptions/{part}"] = f[f"exceptions/{part}"][()]
        metadata = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
    for name in ("exponent_crossings", "dead_mask"):
        if name in tensors:
            assert tensors[name].dtype == np.bool_, f"{name} does not read back as numpy bool"
    return tensors, metadata


def ulp_bits(u):
    """bfloat16 bits of the power of two u (exact)."""
    k = u.denominator.bit_length() - 1 if u < 1 else -(u.numerator.bit_length() - 1)
    k = -k
    return ((k + 127) << 7) if k >= -126 else (1 << (k + 133))


def read_saved(path):
    return (read_safetensors if path.endswith(".safetensors") else read_hdf5)(path)


def same_contents(first, second):
    a, _ = read_saved(first)
    b, _ = read_saved(second)
    differing = [k for k in sorted(set(a) | set(b))
                 if k not in a or k not in b or a[k].dtype != b[k].dtype
                 or not np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f")]
    print(f"{first} vs {second}: " + (f"differ in {differing}" if differing else "identical tensor contents"))
    return 1 if differing else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--same":
        return same_contents(sys.argv[2], sys.argv[3])
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("saved")
    parser.add_argument("--zero-ulp", default="min-normal")
    parser.add_argument("--epsilon", type=float, default=1e-6)
    parser.add_argument("--dtype", default=None)
    args = parser.parse_args()
    with h5py.File(args.input, "r") as f:
        W = f["W"][()].astype(np.uint16)
        dead = f["dead_mask"][()].astype(bool) if "dead_mask" in f else np.zeros(W.shape[1], bool)
    S, N, D = W.shape
    tensors, metadata = read_saved(args.saved)
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
    if args.dtype:
        expect(delta.dtype == np.dtype(args.dtype), f"delta_W_prime dtype {delta.dtype}, expected {args.dtype}")
    info = np.iinfo(delta.dtype)
    index = tensors["exceptions/index"]
    values = tensors["exceptions/value"]
    kinds = tensors["exceptions/kind"]
    exceptions = {tuple(int(v) for v in row): (values[i], int(kinds[i])) for i, row in enumerate(index)}
    expect(len(exceptions) == len(index), "duplicate exception rows")
    order = [(int(r[1]), int(r[0]), int(r[2])) for r in index]
    expect(order == sorted(order), "exceptions not ordered by token, step, dim")
    U = tensors["U"]
    crossings = tensors["exponent_crossings"]
    for t in range(S):
        for n in range(N):
            for d in range(D):
                b = int(W[t, n, d])
                u = bf16_ulp(b, args.zero_ulp)
                expected_u = 0x7FC0 if u is None else ulp_bits(u)
                expect(int(U[t, n, d]) == expected_u, f"U[{t},{n},{d}] = {U[t, n, d]:#06x}, expected {expected_u:#06x}")
                if t == S - 1:
                    continue
                a = int(W[t + 1, n, d])
                expect(bool(crossings[t, n, d]) == (((a >> 7) & 0xFF) != ((b >> 7) & 0xFF)),
                       f"exponent_crossings[{t},{n},{d}]")
                va, vb = bf16_value(a), bf16_value(b)
                exception = exceptions.get((t, n, d))
                if va is None or vb is None:
                    expect(exception is not None and exception[1] == KINDS["nonfinite"] and math.isnan(exception[0]),
                           f"({t},{n},{d}) non-finite: exception {exception}")
                    continue
                x = (va - vb) / u
                klass = classify(x, Fraction(args.epsilon))
                if klass != "exact":
                    expect(exception is not None and exception[1] == KINDS[klass] and exception[0] == float(x),
                           f"({t},{n},{d}) {klass} x={float(x)!r}: exception {exception}")
                elif not info.min <= x <= info.max:
                    expect(exception is not None and exception[1] == 5 and exception[0] == float(x),
                           f"({t},{n},{d}) out of range x={x}: exception {exception}")
                else:
                    expect(exception is None and int(delta[t, n, d]) == x,
                           f"delta_W_prime[{t},{n},{d}] = {delta[t, n, d]}, x = {x}, exception {exception}")
    expect(metadata.get("arithmetic") == "exact" and metadata.get("zero_ulp") == args.zero_ulp, "provenance")
    if problems:
        print(f"{args.saved}: " + "\n  ".join(problems))
        return 1
    print(f"{args.saved}: every tensor matches ({len(index)} exceptions, delta as {delta.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
