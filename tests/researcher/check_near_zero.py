#!/usr/bin/python3
"""The near-zero breakdown (docs/definitions.md §19) against an oracle written here
from the definitions with Python fractions: every W value decoded to an exact
rational, x = (a - b) / U(b) exact, its class, its correctly rounded |x|
(float(Fraction)), the kind (sign change, from zero, to zero), the starting
binade floor(log2 |b|), the exact sums, the lower-median binade. On generated W
full of zeros, subnormals, tiny values, sign changes and a few Inf/NaN, in every
element format, at RANKS ranks, in one block and in blocks of two steps, and for
bf16 a run stopped by SIGTERM and resumed from its checkpoint; for the FP8
formats also on W where most coordinates stay still (still_w). The series CSV's
sign_change / from_zero / to_zero columns and the text report's section too.
usage: check_near_zero.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [FLAGS...]"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction

import h5py
import numpy as np

FORMATS = {"bf16": (16, 8, 127, 7, False), "f16": (16, 5, 15, 10, False), "f32": (32, 8, 127, 23, False),
           "f8e4m3": (8, 4, 7, 3, True), "f8e5m2": (8, 5, 15, 2, False)}
EPSILON = Fraction(1e-6)
KINDS = ("keeps_sign", "sign_change", "from_zero", "to_zero")
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


# --- the definitions ------------------------------------------------------------------------
def decode(bits, fmt):
    """(finite, exact value, is zero, sign bit) of a pattern."""
    total, ebits, bias, mbits, fn = fmt
    s, e, m = (bits >> (total - 1)) & 1, (bits >> mbits) & ((1 << ebits) - 1), bits & ((1 << mbits) - 1)
    top = (1 << ebits) - 1
    if (fn and e == top and m == (1 << mbits) - 1) or (not fn and e == top):
        return False, None, False, s
    q = m + (1 << mbits if e > 0 else 0)
    value = Fraction(q) * Fraction(2) ** (max(e, 1) - bias - mbits)
    return True, -value if s else value, q == 0, s


ZERO_RULE = ["min-normal"]  # --zero-ulp of the run being checked


def ulp(bits, fmt):
    total, ebits, bias, mbits, _ = fmt
    e, m = (bits >> mbits) & ((1 << ebits) - 1), bits & ((1 << mbits) - 1)
    if e == 0 and m == 0:  # the smallest normal, or under min-subnormal the smallest subnormal
        return Fraction(2) ** (1 - bias - (mbits if ZERO_RULE[0] == "min-subnormal" else 0))
    return Fraction(2) ** (max(e, 1) - bias - mbits)


def binade(value):
    """floor(log2 |value|) of a nonzero rational."""
    v = abs(value)
    k = v.numerator.bit_length() - v.denominator.bit_length()
    return k if Fraction(2) ** k <= v else k - 1


def klass(x):
    r = abs(x - round(x))  # Python rounds half to even; r is the distance either way
    if r == 0:
        return "exact"
    if r < EPSILON:
        return "almost"
    if abs(r - Fraction(1, 2)) < EPSILON:
        return "half"
    return "non_integer"


def empty_population(transitions):
    return {"bins": {}, "kinds": {k: [0, 0, None, Fraction(0)] for k in KINDS},
            "series": {k: [0] * transitions for k in KINDS[1:]}, "starts": []}


def bin_row(pop, key):
    return pop["bins"].setdefault(key, {"coordinates": 0, "exact": 0, "almost": 0, "half": 0, "non_integer": 0,
                                        "nonfinite": 0, "moved": 0, "sign_change": 0, "from_zero": 0, "to_zero": 0,
                                        "above_1024": 0, "max_abs": None})


def add_coordinate(pop, t, b, a, fmt):
    fb, vb, zb, sb = decode(b, fmt)
    fa, va, za, sa = decode(a, fmt)
    key = "nonfinite" if not fb else ("zero" if zb else binade(vb))
    row = bin_row(pop, key)
    row["coordinates"] += 1
    if fb:
        pop["starts"].append(abs(vb))
    if not (fa and fb):
        row["nonfinite"] += 1
        return
    x = (va - vb) / ulp(b, fmt)
    kind = "from_zero" if zb and not za else "to_zero" if za and not zb else \
        "sign_change" if not zb and sa != sb else "keeps_sign"
    row[klass(x)] += 1
    row["moved"] += x != 0
    if kind != "keeps_sign":
        row[kind] += 1
        pop["series"][kind][t] += 1
    large = abs(x) > 1024
    row["above_1024"] += large
    d = float(abs(x))  # correctly rounded
    row["max_abs"] = d if row["max_abs"] is None else max(row["max_abs"], d)
    k = pop["kinds"][kind]
    k[0] += 1
    k[1] += large
    k[2] = d if k[2] is None else max(k[2], d)
    k[3] += Fraction(d)


def typical(pop):
    starts = sorted(pop["starts"])
    if not starts or starts[(len(starts) - 1) // 2] == 0:
        return None
    return binade(starts[(len(starts) - 1) // 2])


def expected_population(pop):
    t = typical(pop)
    order = (["zero"] if "zero" in pop["bins"] else []) + sorted(k for k in pop["bins"] if isinstance(k, int)) + \
        (["nonfinite"] if "nonfinite" in pop["bins"] else [])
    table = []
    for key in order:
        row = dict(pop["bins"][key])
        row["start"] = key if isinstance(key, str) else "binade"
        row["binade"] = key if isinstance(key, int) else None
        row["below_typical"] = t - key if isinstance(key, int) and t is not None else None
        table.append(row)
    sets = {"all": KINDS, "not_crossing_zero": KINDS[:1], "crossing_zero": KINDS[1:]}
    abs_x = {}
    for name, kinds in sets.items():
        count = sum(pop["kinds"][k][0] for k in kinds)
        total = sum((pop["kinds"][k][3] for k in kinds), Fraction(0))
        maxima = [pop["kinds"][k][2] for k in kinds if pop["kinds"][k][2] is not None]
        abs_x[name] = {"count": count, "above_1024": sum(pop["kinds"][k][1] for k in kinds),
                       "mean": float(total) / count if count else None, "max": max(maxima) if maxima else None}
    return {"typical_binade": t,
            "kinds": {k: {"count": v[0], "above_1024": v[1], "max_abs": v[2]} for k, v in pop["kinds"].items()},
            "abs_x": abs_x, "by_starting_binade": table, "per_step": pop["series"]}


def oracle(w, dead, fmt):
    pops = {name: empty_population(w.shape[0] - 1) for name in ("all", "live", "dead")}
    for t in range(w.shape[0] - 1):
        for n in range(w.shape[1]):
            for d in range(w.shape[2]):
                b, a = int(w[t, n, d]), int(w[t + 1, n, d])
                for name in ("all", "dead" if dead[n] else "live"):
                    add_coordinate(pops[name], t, b, a, fmt)
    out = expected_population(pops["all"])
    out["live"], out["dead"] = expected_population(pops["live"]), expected_population(pops["dead"])
    return out


# --- the data ---------------------------------------------------------------------------------
def pattern(fmt, rng, sign, e, m=None):
    total, ebits, bias, mbits, _ = fmt
    m = int(rng.integers(0, 1 << mbits)) if m is None else m
    return (sign << (total - 1)) | (e << mbits) | m


def generated_w(name, rng, steps=6, tokens=7, dims=9):
    """Values in every binade region, each step either a small move on the lattice or a jump
    anywhere (zeros, subnormals, other signs), a few Inf/NaN."""
    fmt = FORMATS[name]
    total, ebits, bias, mbits, fn = fmt
    top = (1 << ebits) - 1
    nan = (1 << (total - 1)) - 1  # S.1..1.1..1: NaN in every format here

    def jump():
        r = rng.random()
        sign = int(rng.integers(0, 2))
        if r < 0.2:
            return sign << (total - 1)  # +-0
        if r < 0.35:
            return pattern(fmt, rng, sign, 0, int(rng.integers(1, 1 << mbits)))  # subnormal
        if r < 0.5:
            return pattern(fmt, rng, sign, int(rng.integers(1, 3)))  # the smallest binades
        if r < 0.98:
            return pattern(fmt, rng, sign, int(rng.integers(max(1, bias - 6), bias + 1)))  # typical
        return nan if r < 0.99 else pattern(fmt, rng, sign, top - (1 if fn else 0))  # NaN, or a top binade

    w = np.zeros((steps, tokens, dims), dtype=np.int64)
    for n in range(tokens):
        for d in range(dims):
            w[0, n, d] = jump()
    for t in range(1, steps):
        for n in range(tokens):
            for d in range(dims):
                b = int(w[t - 1, n, d])
                if rng.random() < 0.5 and (b & ((1 << (total - 1)) - 1)) not in (0, nan & ((1 << (total - 1)) - 1)):
                    step = int(rng.integers(-3, 4)) << int(rng.integers(0, 3 * mbits // 2 + 1))
                    moved = b + step
                    same_sign = (moved >> (total - 1)) == (b >> (total - 1)) and 0 < (moved & ((1 << (total - 1)) - 1))
                    w[t, n, d] = moved if same_sign and decode(moved, fmt)[0] else b
                else:
                    w[t, n, d] = jump()
    if name == "bf16":  # x exactly 1024 (not above), and just above: b = 1.0 (cells of 2^-7)
        w[0, 0, :2] = 0x3F80
        w[1, 0, 0], w[1, 0, 1] = 0x4110, 0x4111  # 9.0 and 9.0625: x = 1024, 1032
    dead = rng.random(tokens) < 0.3
    dead[1] = True
    dead[0] = False
    return w, dead


def crowded_w(name, rng, steps=3, tokens=64, dims=64):
    """Most rows wholly in one binade, moving a few cells (so that a start binade holds thousands
    of coordinates of a work item, in every lane of a vector loop), the others as generated_w's,
    live and dead tokens interleaved."""
    fmt = FORMATS[name]
    total, ebits, bias, mbits, fn = fmt
    mixed, _ = generated_w(name, rng, steps, tokens, dims)
    w = mixed.copy()
    crowded = rng.random(tokens) < 0.95
    for n in np.flatnonzero(crowded):
        w[0, n, :] = [pattern(fmt, rng, 0, bias) for _ in range(dims)]
        for t in range(1, steps):
            for d in range(dims):
                moved = int(w[t - 1, n, d]) + int(rng.integers(-3, 4))
                w[t, n, d] = moved if (moved >> mbits) == bias else w[t - 1, n, d]
    dead = rng.random(tokens) < 0.2
    return w, dead


def still_w(name, rng, steps=5, tokens=16, dims=64, dead_fraction=0.3):
    """Most coordinates still, in a few binades, as in training (where the FP8 formats' start-bin
    counts take their busiest slots in vector lanes): each step 85% stay, 12% move by one to
    three cells (some across a binade), 3% jump anywhere."""
    fmt = FORMATS[name]
    total, ebits, bias, mbits, fn = fmt
    w = np.zeros((steps, tokens, dims), dtype=np.int64)
    for n in range(tokens):
        for d in range(dims):
            w[0, n, d] = pattern(fmt, rng, int(rng.integers(0, 2)), int(rng.integers(bias - 3, bias + 1)))
    for t in range(1, steps):
        for n in range(tokens):
            for d in range(dims):
                b, r = int(w[t - 1, n, d]), rng.random()
                if r < 0.85:
                    w[t, n, d] = b
                elif r < 0.97:
                    moved = b + int(rng.choice([-3, -2, -1, 1, 2, 3]))
                    same_sign = (moved >> (total - 1)) == (b >> (total - 1)) and 0 < (moved & ((1 << (total - 1)) - 1))
                    w[t, n, d] = moved if same_sign and decode(moved, fmt)[0] else b
                else:
                    w[t, n, d] = int(rng.integers(0, 1 << total))
                    if not decode(int(w[t, n, d]), fmt)[0]:
                        w[t, n, d] = 0
    dead = rng.random(tokens) < dead_fraction
    return w, dead


def write(path, name, w, dead):
    with h5py.File(path, "w") as f:
        if name == "f16":
            f["W"] = w.astype(np.uint16).view(np.float16)
        elif name == "f32":
            f["W"] = w.astype(np.uint32).view(np.float32)
        elif name == "bf16":
            f["W"] = w.astype(np.uint16)
        else:
            f["W"] = w.astype(np.uint8)
            f["W"].attrs["dtype"] = "float8_e4m3fn" if name == "f8e4m3" else "float8_e5m2"
        f["dead_mask"] = dead


# --- the runs -------------------------------------------------------------------------------
def analyze(latdisp, mpiexec, ranks, path, tag, *extra):
    command = mpiexec + ["-np", str(ranks), latdisp, "analyze", "--input", path, "--report", f"{tag}.json",
                         "--series-csv", f"{tag}.csv", "--progress-seconds", "0", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"FAIL: {' '.join(command)}: {done.stderr}")
    return json.load(open(f"{tag}.json")), done.stdout


def compare_section(got, want, what):
    for population in ("all", "live", "dead"):
        g = got if population == "all" else got[population]
        e = want if population == "all" else want[population]
        for key in ("typical_binade", "kinds", "abs_x", "by_starting_binade", "per_step"):
            check(g[key] == e[key], f"{what}: {population}.{key}" + ("" if g[key] == e[key] else
                                                                      f"\n  got  {g[key]}\n  want {e[key]}"))


def check_csv(tag, want, what):
    rows = list(csv.DictReader(open(f"{tag}.csv")))
    for population in ("all", "live", "dead"):
        e = want if population == "all" else want[population]
        for kind in KINDS[1:]:
            column = [int(r[f"{population}.{kind}"]) for r in rows]
            check(column == e["per_step"][kind], f"{what}: series CSV {population}.{kind}")


def stopped_and_resumed(latdisp, mpiexec, ranks, path, want):
    """A run stopped by SIGTERM between blocks, resumed from its checkpoint."""
    shutil.rmtree("ck", ignore_errors=True)
    command = mpiexec + ["-np", str(ranks), latdisp, "analyze", "--input", path, "--report", "stopped.json",
                         "--progress-seconds", "0", "--max-steps-per-block", "2", "--checkpoint-dir", "ck",
                         "--checkpoint-seconds", "0.1", "--block-pause", "0.6"]
    # mpirun told to stop passes SIGTERM on to the ranks after this grace, and SIGKILL after
    # another: 2 s, not Open MPI's default 1, so that a rank in its block pause (0.6 s) still
    # writes its checkpoint on a loaded machine.
    grace = dict(os.environ, OMPI_MCA_odls_base_sigkill_timeout="2")
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=grace)
    deadline = time.time() + 60
    while not os.path.exists("ck/manifest.json") and time.time() < deadline and job.poll() is None:
        time.sleep(0.05)
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=120)
    # (mpirun's own exit status after a SIGTERM varies between versions; the message does not)
    check(job.returncode != 0 and "stopped by SIGTERM" in err and "checkpoint written" in err,
          f"bf16: stopped by SIGTERM with a checkpoint (exit {job.returncode}: {err.strip()[-200:]})")
    resumed, _ = analyze(latdisp, mpiexec, ranks, path, "resumed", "--max-steps-per-block", "2",
                         "--checkpoint-dir", "ck", "--resume")
    check(resumed["run"].get("resumed_from_step") not in (None, 0), "bf16: the resumed run resumed mid-way")
    compare_section(resumed["near_zero"], want, "bf16 resumed")


def main():
    latdisp, source, work, ranks = sys.argv[1:5]
    mpiexec = sys.argv[5:]
    ranks = int(ranks)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    rng = np.random.default_rng(20261205)
    for name in FORMATS:
        w, dead = generated_w(name, rng)
        write(f"{name}.h5", name, w, dead)
        want = oracle(w, dead, FORMATS[name])
        whole, text = analyze(latdisp, mpiexec, ranks, f"{name}.h5", f"{name}_whole")
        compare_section(whole["near_zero"], want, f"{name} at {ranks} ranks")
        check_csv(f"{name}_whole", want, name)
        if ranks == 1 or name in ("bf16", "f16"):  # (kept short at 2 and 3 ranks)
            blocks, _ = analyze(latdisp, mpiexec, ranks, f"{name}.h5", f"{name}_blocks", "--max-steps-per-block",
                                "2", "--memory-budget", "64MiB")
            check(blocks["near_zero"] == whole["near_zero"], f"{name}: blocks of 2 steps give the same near_zero")
        counts = want["kinds"]
        check(all(counts[k]["count"] > 0 for k in KINDS), f"{name}: the data has every kind ({counts})")
        check("== Near zero: x by where W[t] started ==" in text and
              f"sign changes {counts['sign_change']['count']}, from zero {counts['from_zero']['count']}" in text,
              f"{name}: the text report's near-zero section")
        classes = whole["displacement"]
        table = whole["near_zero"]["by_starting_binade"]
        for c in ("exact", "almost", "half", "non_integer", "nonfinite", "moved"):
            check(sum(r[c] for r in table) == classes[c], f"{name}: the table's {c} add up to displacement.{c}")
        if name == "bf16" and ranks == 2:
            stopped_and_resumed(latdisp, mpiexec, ranks, f"{name}.h5", want)
        if name in ("bf16", "f8e5m2") and ranks == 1:  # the other zero rule; the seed arithmetic
            ZERO_RULE[0] = "min-subnormal"
            subnormal, _ = analyze(latdisp, mpiexec, ranks, f"{name}.h5", f"{name}_subnormal", "--zero-ulp",
                                   "min-subnormal")
            compare_section(subnormal["near_zero"], oracle(w, dead, FORMATS[name]), f"{name} --zero-ulp min-subnormal")
            ZERO_RULE[0] = "min-normal"
            if name == "bf16":
                seed, _ = analyze(latdisp, mpiexec, ranks, f"{name}.h5", f"{name}_seed", "--arithmetic", "seed")
                check(seed["near_zero"] == whole["near_zero"], "bf16: --arithmetic seed: the same near_zero (exact x)")
    if ranks == 1:  # start binades of thousands of coordinates (the formats counted per binade)
        for name in ("bf16", "f16", "f32", "f8e4m3", "f8e5m2"):
            # (FP8: more tokens, so that a population's small groups fill the tags they hold)
            w, dead = crowded_w(name, rng, tokens=100 if name.startswith("f8") else 64)
            write(f"{name}_crowded.h5", name, w, dead)
            got, _ = analyze(latdisp, mpiexec, ranks, f"{name}_crowded.h5", f"{name}_crowded")
            compare_section(got["near_zero"], oracle(w, dead, FORMATS[name]), f"{name} crowded binades")
        # Wide rows, all live: a work item of more coordinates than a fold counts between flushes
        # (2^16), in groups of thousands (the FP8 formats' tags held from group to group, or not;
        # one FP8 format: the other takes the same path).
        for name in ("f8e5m2",):
            w, dead = still_w(name, rng, steps=2, tokens=40, dims=1700, dead_fraction=0.0)
            write(f"{name}_wide.h5", name, w, dead)
            got, _ = analyze(latdisp, mpiexec, ranks, f"{name}_wide.h5", f"{name}_wide")
            compare_section(got["near_zero"], oracle(w, dead, FORMATS[name]), f"{name} wide rows")
    for name in ("f8e4m3", "f8e5m2"):
        w, dead = still_w(name, rng)
        write(f"{name}_still.h5", name, w, dead)
        still, _ = analyze(latdisp, mpiexec, ranks, f"{name}_still.h5", f"{name}_still")
        compare_section(still["near_zero"], oracle(w, dead, FORMATS[name]), f"{name} mostly still at {ranks} ranks")
    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print("near-zero breakdown: all checks passed")


if __name__ == "__main__":
    main()
