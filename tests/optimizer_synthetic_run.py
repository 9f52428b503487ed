#!/usr/bin/env python3
"""A small recorded-run layout (docs/optimizer.md §1) for the optimizer checkpoint test: W, grad_W,
momentum_W, variance_W as bf16 bits (numpy's own AdamW in float32, rounded to
bf16: the replay mismatches somewhere, which the first-mismatch list records),
a per-step lr dataset, the hyperparameters as attributes, a dead mask.
usage: optimizer_synthetic_run.py OUT.h5 STEPS TOKENS DIMS"""
import sys
import h5py
import numpy as np

path, steps, tokens, dims = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(11)


def bits(x):
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def value(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


w = value(bits(rng.standard_normal((tokens, dims)) * 0.02))
m = np.zeros_like(w)
v = np.zeros_like(w)
lr = 1e-3 * (1 + np.arange(steps) % 7) / 4
with h5py.File(path, "w") as f:
    sets = {k: f.create_dataset(k, (steps, tokens, dims), dtype=np.uint16)
            for k in ("W", "grad_W", "momentum_W", "variance_W")}
    f.create_dataset("lr", data=lr)
    f.create_dataset("dead_mask", data=(np.arange(tokens) % 5 == 3))
    f.attrs.update(adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, weight_decay=0.01)
    g = np.zeros_like(w)
    for t in range(steps):
        if t:
            g = value(bits(rng.standard_normal((tokens, dims)) * 1e-3 * (np.arange(tokens)[:, None] % 5 != 3)))
            m = value(bits(0.9 * m + 0.1 * g))
            v = value(bits(0.999 * v + 0.001 * g * g))
            w = value(bits(w * (1 - lr[t] * 0.01) - lr[t] * m / (np.sqrt(v) + 1e-8)))
        for k, x in (("W", w), ("grad_W", g), ("momentum_W", m), ("variance_W", v)):
            sets[k][t] = bits(x)
