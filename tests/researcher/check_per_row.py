#!/usr/bin/python3
"""analyze --per-row FILE.h5 (docs/formats.md §18) against an oracle: for
every row (t, n) the magnitude m (float64, bit for bit) and the regime (int8:
0 frozen, 1 hop, 2 thermal, 3 non-finite) computed here from the bits with
the motion oracle's exact rules (tests/reference/motion_oracle.py), on a
generated trajectory with special values and a decaying move size, in small
step blocks, at the given rank count.
usage: check_per_row.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [FLAGS...]"""
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from motion_oracle import row_regime, ulp, value  # noqa: E402

CODES = {"frozen": 0, "hop": 1, "thermal": 2, "nonfinite": 3}


def oracle(path):
    with h5py.File(path, "r") as f:
        w = f["W"][...].view(np.uint16).astype(np.int64)
    steps, tokens, dims = w.shape
    magnitude = np.full((steps - 1, tokens), np.nan)
    regime = np.zeros((steps - 1, tokens), dtype=np.int8)
    for t in range(steps - 1):
        for n in range(tokens):
            xs = []
            for d in range(dims):
                b, a = int(w[t, n, d]), int(w[t + 1, n, d])
                vb, va = value(b), value(a)
                xs.append(None if vb is None or va is None else (va - vb) / ulp(b, "min-normal"))
            name, m = row_regime(xs, dims, math.sqrt(dims), True)
            regime[t, n] = CODES[name]
            if m is not None:
                magnitude[t, n] = m
    return magnitude, regime


def main():
    latdisp, source, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    mpiexec = sys.argv[5:]
    del source
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    run = mpiexec + ["-np", ranks, latdisp]
    subprocess.run(run + ["generate", "--output", "w.h5", "--steps", "13", "--tokens", "31", "--dims", "9",
                          "--special", "--decay-steps", "3", "--floor", "0.02", "--seed", "11"],
                   check=True, capture_output=True, timeout=120)
    with h5py.File("w.h5", "r+") as f:  # non-finite rows for certain: Inf and NaN planted
        w = f["W"]
        w[4, 2, 0], w[7, 30, 8] = 0x7F80, 0x7FC1
    done = subprocess.run(run + ["analyze", "--input", "w.h5", "--per-row", "rows.h5", "--max-steps-per-block", "3",
                                 "--progress-seconds", "0"], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"FAIL: analyze --per-row exited {done.returncode}: {done.stderr}")
    want_m, want_r = oracle("w.h5")
    failures = 0
    with h5py.File("rows.h5", "r") as f:
        got_m, got_r = f["magnitude"][...], f["regime"][...]
        checks = [
            (f["magnitude"].dtype == np.float64 and f["regime"].dtype == np.int8, "dtypes float64 and int8"),
            (got_m.shape == want_m.shape == got_r.shape, f"shape (S-1, N) = {want_m.shape}"),
        ]
    checks.append((np.array_equal(got_r, want_r), "regime of every row equals the oracle's"))
    finite = np.isfinite(want_m)
    same = np.array_equal(got_m[finite].view(np.uint64), want_m[finite].view(np.uint64))
    checks.append((same, "every finite magnitude equals the oracle's bit for bit"))
    checks.append((not np.isfinite(got_m[~finite]).any(), "non-finite rows have a non-finite magnitude"))
    counts = np.bincount(want_r.ravel(), minlength=4)
    checks.append(((counts > 0).all(), f"the data has rows in every regime ({counts.tolist()})"))
    for ok, what in checks:
        print(("ok: " if ok else "FAIL: ") + what)
        failures += not ok
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
