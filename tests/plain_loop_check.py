#!/usr/bin/env python3
"""The benchmark's plain loop (tools/plain_loop.cpp) against numpy from the
definitions: crossings (exponent field changed), moved coordinates, and for
coordinates that keep sign and binade x = (b - a) / ulp(a) from the float
values, its min, max and sum of squares. The loop builds its block in memory
from the synthetic trajectory (seed 7, dead fraction 0.1); `latdisp generate
--seed 7` writes the same values, which numpy reads back.
usage: plain_loop_check.py LATDISP PLAIN_LOOP WORKDIR MPIEXEC..."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

LATDISP, LOOP, WORK = sys.argv[1:4]
MPIEXEC = sys.argv[4:]
os.makedirs(WORK, exist_ok=True)


def oracle(path):
    with h5py.File(path, "r") as f:
        w = f["W"][()].view(np.uint16).astype(np.int64)
    a, b = w[:-1], w[1:]
    to_float = lambda bits: (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    exponent = (a >> 7) & 0xFF
    ulp = 2.0 ** (np.maximum(exponent, 1) - 134)  # a bf16 cell in a's binade (subnormals: the first binade's)
    same = ((a ^ b) & 0xFF80) == 0  # sign and exponent field kept
    x = np.where(same, (to_float(b) - to_float(a)) / ulp, 0.0)
    assert (x == np.round(x)).all()
    return {"crossings": int((((a ^ b) & 0x7F80) != 0).sum()), "moved": int((a != b).sum()),
            "min_x": int(min(x.min(), 0)), "max_x": int(max(x.max(), 0)), "sum_of_squares": int((x * x).sum())}


failures = []
for steps, tokens, dims in ((2, 1, 64), (9, 300, 64), (17, 64, 7)):
    path = os.path.join(WORK, f"plain_loop_{steps}x{tokens}x{dims}.h5")
    if os.path.exists(path):
        os.remove(path)
    subprocess.run(MPIEXEC + ["-np", "1", LATDISP, "generate", "--output", path, "--steps", str(steps), "--tokens",
                              str(tokens), "--dims", str(dims), "--seed", "7"], check=True, stdout=subprocess.DEVNULL)
    got = json.loads(subprocess.run([LOOP, str(steps), str(tokens), str(dims), "1"], check=True,
                                    stdout=subprocess.PIPE, text=True).stdout)
    want = oracle(path)
    if want["moved"] == 0 or want["sum_of_squares"] == 0:
        failures.append(f"{steps}x{tokens}x{dims}: the block does not move; the check would prove nothing")
    for key, value in want.items():
        if got[key] != value:
            failures.append(f"{steps}x{tokens}x{dims}: {key} {got[key]} != {value}")
    if not got["coordinates_per_s"] > 0:
        failures.append(f"{steps}x{tokens}x{dims}: coordinates_per_s {got['coordinates_per_s']}")
print("\n".join(failures) or "plain loop: every total agrees with numpy")
sys.exit(1 if failures else 0)
