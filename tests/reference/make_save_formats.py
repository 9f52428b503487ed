#!/usr/bin/python3
"""Trajectories of f16, f32, f8e4m3 and f8e5m2 for the saved-output test (docs/formats.md §8):
the first transition pairs b = every sign and exponent field (mantissas 0, 1 (not for f32) and the
largest; every pattern for the 8-bit formats) with values of a at the edges of the saving
kernel's cases, counted in bit patterns: the same binade, neighbours, one binade down, 6 to
9 binades up, the limits of int8 and int16, and the format's special values (zeros,
subnormals, the largest finite value, Inf, NaN; E4M3FN's 448 and its NaN). A third step of
random patterns adds every other case. Each is written as HDF5 (as the format is stored:
float16 / float32, FP8 as uint8 with the `dtype` attribute) and as a safetensors file
(F16, F32, F8_E4M3, F8_E5M2), with one random dead mask. Beside them, walk_FORMAT.h5: a
random walk on each format's lattice (40 steps, 16 tokens, 12 dims, with a few NaN),
long enough to stop and resume.

usage: make_save_formats.py DIR   (writes DIR/FORMAT_edges.h5, DIR/FORMAT_edges.safetensors
                                   and DIR/walk_FORMAT.h5)
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


def walk(name, rng, steps=40, tokens=16, dims=12):
    """Lattice positions moving by -2..2 patterns a step (finite: they stay below the top binade), a few NaN."""
    total, ebits, mbits = FORMATS[name]
    limit = ((1 << ebits) - 1) << mbits if name != "f8e4m3" else 0x7E
    position = rng.integers(-limit // 2, limit // 2, (tokens, dims))
    positions = [position]
    for _ in range(steps - 1):
        positions.append(np.clip(positions[-1] + rng.integers(-2, 3, (tokens, dims)), -(limit - 1), limit - 1))
    p = np.stack(positions)
    bits = np.where(p >= 0, p, (1 << (total - 1)) | -p)
    nan = 0x7F if name == "f8e4m3" else (((1 << ebits) - 1) << mbits) | (1 << (mbits - 1))
    return np.where(rng.random(bits.shape) < 0.002, nan, bits)


def stored(name, bits):
    """The values as the format is stored (numpy float16/float32, or the bits)."""
    total = FORMATS[name][0]
    raw = np.ascontiguousarray(bits.astype({8: np.uint8, 16: np.uint16, 32: np.uint32}[total]))
    return raw.view({16: np.float16, 32: np.float32}[total]) if total > 8 else raw


def write_hdf5(path, name, values, dead):
    with h5py.File(path, "w") as f:
        f["W"] = values
        if FORMATS[name][0] == 8:
            f["W"].attrs["dtype"] = "float8_e4m3fn" if name == "f8e4m3" else "float8_e5m2"
        f["dead_mask"] = dead


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(22)
    for name in FORMATS:
        values = stored(name, edges(name, rng))
        dead = rng.random(values.shape[1]) < 0.2
        write_hdf5(f"{out}/{name}_edges.h5", name, values, dead)
        write_safetensors(f"{out}/{name}_edges.safetensors",
                          [("W", SAFETENSORS[name], values), ("dead_mask", "BOOL", dead)])
        walked = stored(name, walk(name, rng))
        write_hdf5(f"{out}/walk_{name}.h5", name, walked, rng.random(walked.shape[1]) < 0.2)


if __name__ == "__main__":
    main()
