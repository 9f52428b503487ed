#!/usr/bin/python3
"""Trajectories of f16, f32, f8e4m3 and f8e5m2 for the saved-output test (docs/formats.md §20):
the first transition pairs b = every sign and exponent field (mantissas 0, 1 (not for f32) and the
largest; every pattern for the 8-bit formats) with values of a at the edges of the saving
kernel's cases, counted in bit patterns: the same binade, neighbours, one binade down, 6 to
9 binades up, the limits of int8 and int16, and the format's special values (zeros,
subnormals, the largest finite value, Inf, NaN; E4M3FN's 448 and its NaN). A third step of
random patterns adds every other case. Each is written as HDF5 (as the format is stored:
float16 / float32, FP8 as uint8 with the `dtype` attribute) and as a safetensors file
(F16, F32, F8_E4M3, F8_E5M2), with one random dead mask.

usage: make_save_formats.py DIR   (writes DIR/FORMAT_edges.h5 and DIR/FORMAT_edges.safetensors)
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

# name: total bits, exponent bits, stored mantissa bits
FORMATS = {"f16": (16, 5, 10), "f32": (32, 8, 23), "f8e4m3": (8, 4, 3), "f8e5m2": (8, 5, 2)}
SAFETENSORS = {"f16": "F16", "f32": "F32", "f8e4m3": "F8_E4M3", "f8e5m2": "F8_E5M2"}


def specials(name):
    total, ebits, mbits = FORMATS[name]
    sign = 1 << (total - 1)
    top = ((1 << ebits) - 1) << mbits                  # IEEE: Inf; E4M3FN: the top (normal) binade
    values = [0, sign, 1, sign | 1, 1 << mbits, (1 << mbits) - 1, sign | (1 << mbits)]
    if name == "f8e4m3":
        values += [0x7E, 0xFE, 0x7F, 0xFF, 0x78]       # +-448, the NaNs, 256
    else:
        values += [top - 1, sign | (top - 1), top, sign | top, top | (1 << (mbits - 1)), top | 1]
    return values


def edges(name, rng):
    total, ebits, mbits = FORMATS[name]
    size = 1 << total
    if total == 8:
        b = np.arange(256, dtype=np.int64)
    else:
        mantissas = (0, (1 << mbits) - 1) if name == "f32" else (0, 1, (1 << mbits) - 1)
        b = np.array([(s << (total - 1)) | (e << mbits) | m for s in (0, 1) for e in range(1 << ebits)
                      for m in mantissas], dtype=np.int64)
    binade = 1 << mbits
    offsets = [0, 1, -1, binade - 1, binade, -binade, -binade - 1, 6 * binade, 7 * binade, 8 * binade,
               9 * binade, 127, 128, -128, -129, 32767, 32768, -32768, -32769]
    a = np.concatenate([(b[:, None] + np.array(offsets)[None, :]) % size,
                        np.broadcast_to(np.array(specials(name)), (b.size, len(specials(name))))], axis=1)
    last = rng.integers(0, size, size=a.shape)
    return np.stack([np.broadcast_to(b[:, None], a.shape), a, last])


def write(out, name, bits, rng):
    total = FORMATS[name][0]
    storage = {8: np.uint8, 16: np.uint16, 32: np.uint32}[total]
    raw = np.ascontiguousarray(bits.astype(storage))
    values = raw.view({16: np.float16, 32: np.float32}[total]) if total > 8 else raw
    dead = rng.random(bits.shape[1]) < 0.2
    with h5py.File(f"{out}/{name}_edges.h5", "w") as f:
        f["W"] = values
        if total == 8:
            f["W"].attrs["dtype"] = "float8_e4m3fn" if name == "f8e4m3" else "float8_e5m2"
        f["dead_mask"] = dead
    write_safetensors(f"{out}/{name}_edges.safetensors", [("W", SAFETENSORS[name], values), ("dead_mask", "BOOL", dead)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(22)
    for name in FORMATS:
        write(out, name, edges(name, rng), rng)


if __name__ == "__main__":
    main()
