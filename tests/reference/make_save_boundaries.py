#!/usr/bin/python3
"""A trajectory whose first transition pairs every sign and exponent of b
(mantissas 0, 1 and 127) with values of a at the edges of the saving
kernel's cases: the same binade, neighbours, 8 and 9 binades up, one down,
the limits of int8 and int16, zeros, subnormals, Inf and NaN. A third step
of random patterns adds every other case.
usage: make_save_boundaries.py OUT.h5"""
import sys

import h5py
import numpy as np

OFFSETS = [0, 1, -1, 127, 128, -128, -129, 255, 256, 1023, 1024, 1151, 1152, 1279]  # in bit patterns
SPECIALS = [0x0000, 0x8000, 0x0001, 0x8001, 0x0080, 0x7F80, 0xFF80, 0x7FC0, 0x4300, 0x4380, 0xC37F]

b = np.array([(s << 15) | (e << 7) | m for s in (0, 1) for e in range(256) for m in (0, 1, 0x7F)], dtype=np.int64)
a = np.concatenate([(b[:, None] + np.array(OFFSETS)[None, :]) & 0xFFFF,
                    np.broadcast_to(np.array(SPECIALS), (b.size, len(SPECIALS)))], axis=1)
rng = np.random.default_rng(5)
last = rng.integers(0, 65536, size=a.shape)
W = np.stack([np.broadcast_to(b[:, None], a.shape), a, last]).astype(np.uint16)
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("W", data=W)
    f.create_dataset("dead_mask", data=rng.random(W.shape[1]) < 0.2)
