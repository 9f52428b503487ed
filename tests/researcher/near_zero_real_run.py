#!/usr/bin/python3
"""The near-zero breakdown (docs/definitions.md §19) on a real bf16 training run: a small
word-level language model (Zipf-distributed words from a random bigram source, a tied
1024 x 32 bfloat16 embedding, AdamW with warm-up and cosine decay, every parameter held in
bfloat16; tools/trained_trajectory.py) recorded once per step. Its counts and |x| statistics are checked against numpy
on the recorded bits (sign changes, moves from and to zero, |x| > 1024 by kind, the mean
and max of |x| with and without the coordinates that cross zero, math.fsum giving the
exact sum rounded once), and the breakdown must explain the large magnitudes: every
|x| > 1024 crossed zero or started at least 3 binades below the median |W[t]|. Prints the
figures docs/definitions.md §19 quotes. Exits 77 (skipped) without torch.
usage: near_zero_real_run.py LATDISP SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]"""
import json
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

VOCAB, DIMS, STEPS, BATCH, CONTEXT = 1024, 32, 120, 64, 8
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def numpy_breakdown(w):
    """x, kinds and starting binades from the bits, in float64 (exact here: bf16 values
    within 45 binades of each other subtract exactly, and U is a power of two)."""
    b, a = w[:-1], w[1:]
    vb, va = bf16_values(b), bf16_values(a)
    field = (b >> 7) & 0xFF
    zero_b, zero_a = (b & 0x7FFF) == 0, (a & 0x7FFF) == 0
    ulp = np.where(zero_b, 2.0 ** -126, np.exp2(np.maximum(field, 1).astype(np.float64) - 134))
    x = np.abs((va - vb) / ulp)
    sign_change = ~zero_b & ~zero_a & ((b >> 15) != (a >> 15))
    kinds = {"sign_change": sign_change, "from_zero": zero_b & ~zero_a, "to_zero": ~zero_b & zero_a}
    kinds["keeps_sign"] = ~(sign_change | kinds["from_zero"] | kinds["to_zero"])
    binade = np.where(zero_b, -1000, np.floor(np.log2(np.where(zero_b, 1.0, np.abs(vb)))).astype(np.int64))
    return x, kinds, binade


def main():
    latdisp, source, work = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    mpiexec = sys.argv[4:]
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed (the near-zero breakdown of a real run needs a training run)")
        sys.exit(77)
    torch.set_num_threads(1)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    sys.path.insert(0, os.path.join(source, "tools"))
    from trained_trajectory import bigram_corpus, train
    w, dead = train(torch, bigram_corpus(np.random.default_rng(11), VOCAB, 20000), VOCAB, DIMS, STEPS, BATCH, CONTEXT)
    with h5py.File("run.h5", "w") as f:
        f["W"] = w
        f["dead_mask"] = dead
    command = mpiexec + ["-np", "2", latdisp, "analyze", "--input", "run.h5", "--report", "run.json",
                         "--progress-seconds", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    if done.returncode != 0:
        sys.exit(f"FAIL: {command}: {done.stderr}")
    report = json.load(open("run.json"))
    nz = report["near_zero"]

    x, kinds, binade = numpy_breakdown(w)
    for kind, mask in kinds.items():
        check(nz["kinds"][kind]["count"] == int(mask.sum()), f"{kind}: {nz['kinds'][kind]['count']} (numpy {mask.sum()})")
        check(nz["kinds"][kind]["above_1024"] == int((mask & (x > 1024)).sum()), f"{kind}: |x| > 1024")
    for kind in ("sign_change", "from_zero", "to_zero"):
        check(nz["per_step"][kind] == [int(v) for v in kinds[kind].sum(axis=(1, 2))], f"per-step {kind}")
    sets = {"all": np.ones_like(x, dtype=bool), "not_crossing_zero": kinds["keeps_sign"],
            "crossing_zero": ~kinds["keeps_sign"]}
    for name, mask in sets.items():
        values = x[mask]
        want = {"count": int(mask.sum()), "mean": math.fsum(values.tolist()) / len(values) if len(values) else None,
                "max": float(values.max()) if len(values) else None, "above_1024": int((values > 1024).sum())}
        check(nz["abs_x"][name] == want, f"abs_x.{name}: {nz['abs_x'][name]} (numpy {want})")
    starts = np.sort(np.abs(bf16_values(w[:-1])).ravel())
    median = starts[(len(starts) - 1) // 2]
    typical = int(np.floor(np.log2(median)))
    check(nz["typical_binade"] == typical, f"typical binade {nz['typical_binade']} (numpy {typical})")

    large = x > 1024
    explained = large & (~kinds["keeps_sign"] | (binade <= typical - 3))
    check(large.sum() > 0, f"the run has |x| > 1024 ({large.sum()})")
    check(int(explained.sum()) == int(large.sum()),
          f"every |x| > 1024 crossed zero or started >= 3 binades below the median: {explained.sum()} of {large.sum()}")
    figures = {
        "coordinates": int(x.size), "typical_binade": typical,
        "magnitude_max": report["magnitude"]["max"], "magnitude_mean": report["magnitude"]["mean"],
        "recommended_dtype": report["displacement"]["recommended_dtype"],
        "kinds": {k: nz["kinds"][k] for k in nz["kinds"]}, "abs_x": nz["abs_x"],
        "above_1024": int(large.sum()), "above_1024_crossing": int((large & ~kinds["keeps_sign"]).sum()),
        "median_start_of_large_keeping_sign": float(np.median(np.abs(bf16_values(w[:-1]))[large & kinds["keeps_sign"]]))
        if (large & kinds["keeps_sign"]).any() else None,
        "median_start": float(median)}
    print(json.dumps(figures, indent=1))
    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print("near-zero breakdown of a real bf16 run: all checks passed")


if __name__ == "__main__":
    main()
