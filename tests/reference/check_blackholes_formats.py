#!/usr/bin/python3
"""blackholes on every element format against a numpy oracle: groups of bit-identical rows
(compared as bytes), on one matrix and over the steps of a trajectory, with an odd number of
8-bit values per row (padding must not matter) and rows that differ only in their last byte.

usage: check_blackholes_formats.py LATDISP WORKDIR RANKS MPIEXEC...
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

FORMATS = {"bf16": ("BF16", np.uint16), "f16": ("F16", np.uint16), "f32": ("F32", np.uint32),
           "f8e4m3": ("F8_E4M3", np.uint8), "f8e5m2": ("F8_E5M2", np.uint8)}


def oracle_groups(matrix, min_size=2):
    rows = {}
    for n, row in enumerate(matrix):
        rows.setdefault(row.tobytes(), []).append(n)
    groups = [g for g in rows.values() if len(g) >= min_size]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def trajectory(rng, storage, steps=3, tokens=60, dims=7):
    top = np.iinfo(storage).max
    w = rng.integers(0, top, (steps, tokens, dims), dtype=np.int64).astype(storage)
    for t in range(steps):
        for g, size in enumerate((5, 3, 2)):
            base = w[t, 10 * g]
            for k in range(size):
                w[t, 10 * g + 2 * k + t] = base
        w[t, 50] = w[t, 51]
        w[t, 50, -1] ^= 1  # differs in its last byte only
    return w


def main():
    latdisp, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3]
    mpiexec = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(7)
    failures = 0
    for name, (dtype, storage) in FORMATS.items():
        w = trajectory(rng, storage)
        view = {"F16": np.float16, "F32": np.float32}.get(dtype)
        path = os.path.join(work, f"bh_{name}.safetensors")
        write_safetensors(path, [("W", dtype, w.view(view) if view else w)])
        for step in range(w.shape[0]):
            report = os.path.join(work, f"bh_{name}_{step}.json")
            subprocess.run(mpiexec + ["-np", ranks, latdisp, "blackholes", "--matrix", f"{path}:W@{step}",
                                      "--report", report, "--overwrite"], check=True, stdout=subprocess.DEVNULL)
            with open(report) as f:
                got = json.load(f)
            groups = [g["token_ids"] for g in got["groups"]]
            expected = oracle_groups(w[step])
            if groups != expected or got["input"].get("element_type") != name:
                failures += 1
                print(f"MISMATCH {name} step {step}: {groups} != {expected}")
        report = os.path.join(work, f"bh_{name}_steps.json")
        subprocess.run(mpiexec + ["-np", ranks, latdisp, "blackholes", "--matrix", f"{path}:W", "--steps", "all",
                                  "--report", report, "--overwrite"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(report) as f:
            got = json.load(f)
        finals = [(g["size"], g["first_token"]) for g in got["final_groups"]]
        expected = [(len(g), g[0]) for g in oracle_groups(w[-1])]
        if finals != expected or got["input"].get("element_type") != name:
            failures += 1
            print(f"MISMATCH {name} over steps: {finals} != {expected}")
    print(f"{failures} mismatch(es)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
