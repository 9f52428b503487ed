#!/usr/bin/python3
"""Time `latdisp survey` on a synthetic embedding: a ROWS x DIMS bf16 matrix
(normal values of scale 0.02, as a trained embedding's) with GROUPS planted
groups of bit-identical rows, and print the distance pass in lattice
comparisons per second, the whole survey's time and the peak memory per rank.

usage: tools/benchmark_survey.py [--rows 151936] [--dims 2560] [--groups 64] [--ranks 2]
                                 [--memory-budget SIZE] [--file PATH] [--latdisp build/latdisp]"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np


def write_matrix(path, rows, dims, groups):
    rng = np.random.default_rng(1)
    header = {"model.embed_tokens.weight": {"dtype": "BF16", "shape": [rows, dims],
                                            "data_offsets": [0, rows * dims * 2]}}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    members = [rng.choice(rows, size=2 + g % 7, replace=False) for g in range(groups)]
    first = {int(m[0]): None for m in members}
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        chunk = 8192
        for begin in range(0, rows, chunk):  # bounded memory for any size
            n = min(chunk, rows - begin)
            block = (rng.standard_normal((n, dims), dtype=np.float32) * 0.02).view(np.uint32)
            f.write((block >> 16).astype(np.uint16).tobytes())
    # Plant the groups: every member takes its first member's row.
    with open(path, "r+b") as f:
        base = 8 + len(text)
        for m in members:
            f.seek(base + int(m[0]) * dims * 2)
            row = f.read(dims * 2)
            for t in m[1:]:
                f.seek(base + int(t) * dims * 2)
                f.write(row)
    return len(first)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=151936)
    parser.add_argument("--dims", type=int, default=2560)
    parser.add_argument("--groups", type=int, default=64)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--memory-budget", default="")
    parser.add_argument("--file", help="reuse (or create) this matrix file")
    parser.add_argument("--latdisp", default=os.path.join(os.path.dirname(__file__), "..", "build", "latdisp"))
    args = parser.parse_args()
    path = args.file or os.path.join(tempfile.gettempdir(), f"survey_{args.rows}x{args.dims}.safetensors")
    if not os.path.exists(path):
        write_matrix(path, args.rows, args.dims, args.groups)
    with open(path, "rb") as f:  # warm the page cache: time the survey, not the disk
        while f.read(1 << 24):
            pass
    report = path + ".report.json"
    command = ["mpirun", "-np", str(args.ranks), args.latdisp, "survey", "--model", path, "--report", report,
               "--overwrite"] + (["--memory-budget", args.memory_budget] if args.memory_budget else [])
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(report) as f:
        timing = json.load(f)["timing"]
    print(f"survey {args.rows} x {args.dims} bf16, {args.groups} planted groups, {args.ranks} rank(s): "
          f"{timing['seconds']:.1f} s (first pass {timing['first_pass_seconds']:.1f} s, distance pass "
          f"{timing['distance_pass_seconds']:.1f} s of which kernel {timing['distance_seconds']:.1f} s); "
          f"{timing['lattice_comparisons_per_second']:.3g} lattice comparisons/s; peak memory per rank "
          f"{timing['peak_rss_bytes'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
