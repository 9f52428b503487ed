#!/usr/bin/python3
"""Hand-made edge-case trajectories for the exact-reference comparison: random
bit patterns (uint16 and int16, bool/uint8/no dead mask), values near zero,
binade edges, all/none dead, long rows, extremes, Inf/NaN, and rows whose
squares are not exact in double (catching fused multiply-adds).
usage: make_edge_inputs.py [SEED]   (writes into the current directory)"""
import sys

import h5py
import numpy as np
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
def boolmask(f, name, m):
    f.create_dataset(name, data=np.asarray(m, dtype=bool))
def write(path, W, mask=None, dtype=np.uint16, maskkind="bool"):
    with h5py.File(path, "w") as f:
        f.create_dataset("W", data=W.astype(np.uint16).view(dtype) if dtype != np.uint16 else W.astype(np.uint16))
        if mask is not None:
            if maskkind == "bool": boolmask(f, "dead_mask", mask)
            else: f.create_dataset("dead_mask", data=np.asarray(mask, dtype=maskkind))
# 1. fully random patterns
S,N,D = 6, 8, 40
W = rng.integers(0, 65536, size=(S,N,D), dtype=np.uint32)
mask = rng.random(N) < 0.4
write("rand_all.h5", W, mask)
write("rand_all_int16.h5", W, mask, dtype=np.int16)
write("rand_all_nomask.h5", W, None)
write("rand_all_u8mask.h5", W, mask, maskkind="uint8")
# 2. near zero: E in 0..2, random sign/mantissa (lots of fractional x under min-normal)
E = rng.integers(0, 3, size=(S,N,D)); M = rng.integers(0, 128, size=(S,N,D)); s = rng.integers(0,2,size=(S,N,D))
M[rng.random((S,N,D)) < 0.3] = 0
W2 = (s << 15) | (E << 7) | M
write("near_zero.h5", W2, mask)
# 3. walk around binade edges near 1.0 and 2^-k: exponents 125..128, crossing in both directions
E = rng.integers(124, 129, size=(S,N,D)); M = rng.integers(0, 128, size=(S,N,D)); s = (rng.random((S,N,D)) < 0.1).astype(int)
write("binades.h5", (s << 15) | (E << 7) | M, mask)
# 4. all dead / none dead
write("all_dead.h5", W2, np.ones(N, bool)); write("none_dead.h5", W2, np.zeros(N, bool))
# 5. long rows (pairwise summation depth) with random moderate values
S,N,D = 3, 4, 5000
E = rng.integers(110, 140, size=(S,N,D)); M = rng.integers(0,128,size=(S,N,D)); s = rng.integers(0,2,size=(S,N,D))
write("long_rows.h5", (s << 15) | (E << 7) | M, [False, True, False, True])
# 6. extremes: max finite, -max, zeros (+-), smallest subnormal, inf, nan
vals = np.array([0x7F7F, 0xFF7F, 0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x7F80, 0xFF80, 0x7FC0, 0x3F80, 0x3F7F], dtype=np.uint32)
S,N,D = 13, 13, 13
W6 = np.empty((S,N,D), np.uint32)
for t in range(S):
    for n in range(N):
        for d in range(D):
            W6[t,n,d] = vals[(t*n + d + t) % len(vals)]
write("extremes.h5", W6, [n % 3 == 0 for n in range(N)])
# 7. finite-only extremes (no inf/nan): huge x from zero/subnormal to max finite
vals2 = vals[:8]
W7 = rng.choice(vals2, size=(5,6,20))
write("extremes_finite.h5", W7, [True, False]*3)
# 8. rows whose squares are not exact in double: fused multiply-adds change
# the magnitudes in the last bit (numpy rounds x*x, then adds).
S,N,D = 4, 10, 37
E = np.where((np.arange(S)%2==0)[:,None,None], rng.integers(128,136,size=(S,N,D)), rng.integers(98,110,size=(S,N,D)))
M = rng.integers(0,128,size=(S,N,D)); s = rng.integers(0,2,size=(S,N,D))
write("fma_frac.h5", (s<<15)|(E<<7)|M, [n%4==0 for n in range(N)])
E = np.where((np.arange(S)%2==0)[:,None,None], 0, rng.integers(20,40,size=(S,N,D)))
M = rng.integers(1,128,size=(S,N,D))
write("big_int.h5", (s<<15)|(E<<7)|M, [n%4==0 for n in range(N)])
S,N,D = 3, 6, 300
E = rng.integers(0,140,size=(S,N,D)); M = rng.integers(0,128,size=(S,N,D)); s = rng.integers(0,2,size=(S,N,D))
write("mixed300.h5", (s<<15)|(E<<7)|M, [n%2==0 for n in range(N)])
