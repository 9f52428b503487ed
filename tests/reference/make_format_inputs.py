#!/usr/bin/python3
"""Trajectories of every element format for the oracle test (docs/definitions.md, "Element
formats"), written with h5py as the formats are stored: float16/float32 datasets, FP8 as
uint8/int8 bits with the `dtype` attribute, bf16 as uint16 bits.

- f8e4m3_pairs.h5, f8e5m2_pairs.h5: every pair of 8-bit patterns (b = W[0] token, a = W[1]
  dim), then a step of finite neighbours (finite rows, magnitudes);
- f16_ulps.h5: every f16 pattern as b, a = b's neighbours and random patterns;
- f32_pairs.h5: structured f32 pairs (binade edges, subnormals, zeros, the largest values,
  x near 2^24, 2^53 and the int64 limits, signs) and random bit patterns;
- *_walk.h5: small random walks on the lattice of each format with specials sprinkled in;
  the same walks as safetensors trajectories (*_walk.safetensors) and, for f8e4m3, f16 and
  f32, as checkpoint series (*_walk_series/step_N.safetensors);
- f8e4m3_up.h5, f8e5m2_up.h5 (and *_down.h5, their negatives): every coordinate moves away
  from zero each step, by one or two cells or now and then by two binades (outside the
  common case), so that no x is 0 and all have one sign: the extremes of the common pass,
  which takes them over every lane, must not take in the 0 it leaves where a coordinate is
  not common.
Each has a random dead mask.

usage: make_format_inputs.py DIR
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

SAFETENSORS = {"bf16": ("BF16", np.uint16), "f16": ("F16", np.uint16), "f32": ("F32", np.uint32),
               "f8e4m3": ("F8_E4M3", np.uint8), "f8e5m2": ("F8_E5M2", np.uint8)}

FORMATS = {"bf16": (16, 8, 127, 7), "f16": (16, 5, 15, 10), "f32": (32, 8, 127, 23),
           "f8e4m3": (8, 4, 7, 3), "f8e5m2": (8, 5, 15, 2)}


def write_other_containers(out, name, bits, dead):
    """The same trajectory as a safetensors file and as a series of checkpoints."""
    dtype, storage = SAFETENSORS[name]
    raw = bits.astype(storage)
    view = {"F16": np.float16, "F32": np.float32}.get(dtype)
    values = raw.view(view) if view else raw
    write_safetensors(f"{out}/{name}_walk.safetensors", [("W", dtype, values), ("dead_mask", "BOOL", dead)])
    if name in ("f8e4m3", "f16", "f32"):
        os.makedirs(f"{out}/{name}_walk_series", exist_ok=True)
        for t in range(bits.shape[0]):
            tensors = [("W", dtype, values[t])] + ([("dead_mask", "BOOL", dead)] if t == 0 else [])
            write_safetensors(f"{out}/{name}_walk_series/step_{10 * t}.safetensors", tensors)


def write(path, name, bits, rng):
    bits = np.ascontiguousarray(bits)
    with h5py.File(path, "w") as f:
        if name == "f16":
            f["W"] = bits.astype(np.uint16).view(np.float16)
        elif name == "f32":
            f["W"] = bits.astype(np.uint32).view(np.float32)
        elif name == "bf16":
            f["W"] = bits.astype(np.uint16)
        else:
            f["W"] = bits.astype(np.uint8)
            f["W"].attrs["dtype"] = "float8_e4m3fn" if name == "f8e4m3" else "float8_e5m2"
        dead = rng.random(bits.shape[1]) < 0.2
        f["dead_mask"] = dead
    return dead


def pairs_8bit(name, rng):
    b = np.repeat(np.arange(256, dtype=np.int64)[:, None], 256, axis=1)
    a = np.repeat(np.arange(256, dtype=np.int64)[None, :], 256, axis=0)
    finite = (b & 0x7F) < (0x7F if name == "f8e4m3" else 0x7C)
    c = np.where(finite, a, 0)                      # the next step: finite rows
    d = np.where(finite, (c + rng.integers(-2, 3, c.shape)) % 256, 0)
    d = np.where((d & 0x7F) >= (0x7F if name == "f8e4m3" else 0x7C), 0, d)
    return np.stack([b, a, d])


def f16_ulps(rng):
    b = np.arange(65536, dtype=np.int64).reshape(256, 256)
    a = np.where(rng.random(b.shape) < 0.5, (b + rng.integers(-3, 4, b.shape)) % 65536,
                 rng.integers(0, 65536, b.shape))
    return np.stack([b, a])


def f32_bits(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32).astype(np.int64)


def f32_structured(rng):
    edges = [0.0, -0.0, 1.0, -1.0, 1.5, -1.5, 2.0 ** -126, 2.0 ** -149, -2.0 ** -149, 2.0 ** -127,
             np.float32(3.4028234663852886e38), 2.0 ** 127, 2.0 ** 40, -2.0 ** 40, 2.0 ** 30, -2.0 ** 30,
             2.0 ** 24, 16777215.0, 2.0 ** 63, -2.0 ** 63, 2.0 ** 62, 2.0 ** -100, 3.0, 0.1, -0.1, 1e-30,
             1e30, 2.0 ** 53, 2.0 ** 54, 2.0 ** 38, 2.0 ** 39, -2.0 ** 39, 7e-45, 1.0000001]
    pattern = f32_bits(edges)
    neighbours = np.concatenate([pattern, (pattern + 1) % 2 ** 32, (pattern - 1) % 2 ** 32,
                                 pattern ^ 0x80000000, np.array([0x7F800000, 0xFF800000, 0x7FC00000, 0x7F7FFFFF,
                                                                 0x00800000, 0x007FFFFF, 0x00000001, 0x80000001])])
    n = len(neighbours)
    b = np.repeat(neighbours[:, None], n, axis=1)
    a = np.repeat(neighbours[None, :], n, axis=0)
    return np.stack([b, a])


def f32_random(rng):
    b = rng.integers(0, 2 ** 32, (48, 40))
    a = np.where(rng.random(b.shape) < 0.6, (b + rng.integers(-300, 301, b.shape)) % 2 ** 32,
                 rng.integers(0, 2 ** 32, b.shape))
    c = rng.integers(0, 2 ** 32, b.shape)
    return np.stack([b, a, c])


def walk(name, rng, steps=6, tokens=37, dims=29):
    total, ebits, bias, mbits = FORMATS[name]
    top = (1 << (total - 1)) - 1                      # the largest magnitude pattern
    finite_top = top - 1 if name == "f8e4m3" else ((1 << ebits) - 1) << mbits
    start = rng.integers(0, finite_top, (tokens, dims))
    positions = [np.where(rng.random(start.shape) < 0.5, start, -start)]
    for _ in range(steps - 1):
        move = rng.integers(-2, 3, start.shape) * (rng.random(start.shape) < 0.7)
        jump = rng.integers(-(1 << (mbits + 2)), 1 << (mbits + 2), start.shape) * (rng.random(start.shape) < 0.05)
        positions.append(np.clip(positions[-1] + move + jump, -(finite_top - 1), finite_top - 1))
    pos = np.stack(positions)
    bits = np.where(pos >= 0, pos, (1 << (total - 1)) | -pos)
    special = rng.random(bits.shape) < 0.003
    nan = top if name == "f8e4m3" else finite_top + 1
    bits = np.where(special, nan, bits)
    bits[1, 0, 0] = 1 << (total - 1)                 # -0
    bits[2, 1, 1] = finite_top if name != "f8e4m3" else top - 1   # Inf, or E4M3FN's 448
    return bits


def one_way(name, rng, negative, steps=6, tokens=37, dims=29):
    """Magnitudes growing every step (see the module's text); negative: with the sign bit set."""
    total, ebits, bias, mbits = FORMATS[name]
    start = rng.integers(8, 25, (tokens, dims))
    positions = [start]
    for _ in range(steps - 1):
        jump = (rng.random(start.shape) < 0.03) * (2 << mbits)  # two binades up
        positions.append(positions[-1] + rng.integers(1, 3, start.shape) + jump)
    bits = np.stack(positions)
    assert bits.max() < (0x7E if name == "f8e4m3" else 0x7C)  # finite, so every x is finite and not 0
    return bits | (1 << (total - 1)) if negative else bits


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2026)
    for name in ("f8e4m3", "f8e5m2"):
        write(f"{out}/{name}_pairs.h5", name, pairs_8bit(name, rng), rng)
    write(f"{out}/f16_ulps.h5", "f16", f16_ulps(rng), rng)
    write(f"{out}/f32_pairs.h5", "f32", f32_structured(rng), rng)
    write(f"{out}/f32_random.h5", "f32", f32_random(rng), rng)
    for name in FORMATS:
        bits = walk(name, rng)
        write_other_containers(out, name, bits, write(f"{out}/{name}_walk.h5", name, bits, rng))
    for name in ("f8e4m3", "f8e5m2"):
        write(f"{out}/{name}_up.h5", name, one_way(name, rng, False), rng)
        write(f"{out}/{name}_down.h5", name, one_way(name, rng, True), rng)


if __name__ == "__main__":
    main()
