#!/usr/bin/python3
"""Independent oracle of latdisp's motion regimes, per-token table and series
(docs/definitions.md §15, exact arithmetic).

Every displacement x = (W[t+1] - W[t]) / U(W[t]) is an exact fractions.Fraction.
A row is frozen when every x is 0; with the default radius sqrt(D) it is a hop
when its exact sum of squares Q is at most D (checked against the double rule);
with a given radius R, when the magnitude m <= R, m being the double numpy's
np.linalg.norm gives for the correctly rounded x (also max_magnitude).

usage: motion_oracle.py W.h5 [--hop-radius R] [--zero-ulp min-normal|min-subnormal]
                        [--epsilon 1e-6] --output ORACLE.json
Writes {"motion": {...}, "per_token": {column: [...]}, "per_step": {...}}."""
import argparse
import json
import math
import os
import sys
from fractions import Fraction

import h5py
import numpy as np

# The bfloat16 decoding and classes of the analyze reference (written from
# docs/definitions.md, not from latdisp's code).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from reference_analyze import bf16_ulp as ulp  # noqa: E402
from reference_analyze import bf16_value as value  # noqa: E402
from reference_analyze import classify as fraction_class  # noqa: E402


def row_regime(xs, dims, radius, default_radius):
    """(regime, m) of one row of exact displacements (None: not finite).

    The default radius sqrt(D) is decided exactly, Q = sum of x^2 <= D, and the
    oracle checks that the double comparison m <= sqrt(D) says the same; a given
    radius R compares the double m with R, as the definition says."""
    if any(x is None for x in xs):
        return "nonfinite", None
    doubles = np.ascontiguousarray([float(x) for x in xs], dtype=np.float64)
    m = float(np.sqrt(np.add.reduce(doubles * doubles)))
    if not math.isfinite(m):
        return "nonfinite", None
    if all(x == 0 for x in xs):
        return "frozen", m
    if default_radius:
        hop = sum(x * x for x in xs) <= dims
        assert hop == (m <= radius), f"exact and double rule disagree: m={m!r}, xs={xs}"
    else:
        hop = m <= radius
    return ("hop" if hop else "thermal"), m


def summary(frozen, hop, thermal, nonfinite, radius):
    moving = [t for t in range(len(hop)) if hop[t] + thermal[t] > 0]
    hops = [t for t in range(len(hop)) if hop[t] > 0]
    thermals = [t for t in range(len(hop)) if thermal[t] > 0]
    last = moving[-1] if moving else None
    if last is None:
        frozen_from = 0
    elif last == len(hop) - 1:
        frozen_from = None
    else:
        frozen_from = last + 1
    return {"hop_radius": radius,
            "per_step": {"frozen": frozen, "hop": hop, "thermal": thermal, "nonfinite": nonfinite},
            "frozen_rows": sum(frozen), "hop_rows": sum(hop), "thermal_rows": sum(thermal),
            "nonfinite_rows": sum(nonfinite),
            "first_motion_step": moving[0] if moving else None, "last_motion_step": last,
            "last_hop_step": hops[-1] if hops else None, "last_thermal_step": thermals[-1] if thermals else None,
            "frozen_from": frozen_from, "global_freeze_steps": len(hop) - len(moving)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input")
    parser.add_argument("--hop-radius", type=float, default=0.0)
    parser.add_argument("--zero-ulp", default="min-normal")
    parser.add_argument("--epsilon", type=float, default=1e-6)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    with h5py.File(args.input, "r") as f:
        W = f["W"][...].view(np.uint16).astype(np.int64)
        dead = np.asarray(f["dead_mask"][...]).astype(bool) if "dead_mask" in f else np.zeros(W.shape[1], bool)
    steps, tokens, dims = W.shape
    default_radius = args.hop_radius == 0
    radius = math.sqrt(dims) if default_radius else args.hop_radius
    eps = Fraction(args.epsilon)
    transitions = steps - 1

    counts = {p: {k: [0] * transitions for k in ("frozen", "hop", "thermal", "nonfinite")} for p in ("live", "dead")}
    columns = {k: [] for k in ("token", "dead", "moved", "hops", "thermal", "frozen", "nonfinite_rows", "first_moved",
                               "last_moved", "crossings", "non_integer", "half", "max_magnitude",
                               "final_frozen_run")}
    for n in range(tokens):
        record = {"hop": 0, "thermal": 0, "frozen": 0, "nonfinite": 0, "crossings": 0, "non_integer": 0, "half": 0}
        moved_at, largest, run = [], None, 0
        for t in range(transitions):
            xs = []
            for d in range(dims):
                b, a = int(W[t, n, d]), int(W[t + 1, n, d])
                if (a >> 7) & 0xFF != (b >> 7) & 0xFF:
                    record["crossings"] += 1
                vb, va = value(b), value(a)
                if vb is None or va is None:
                    xs.append(None)
                    continue
                x = (va - vb) / ulp(b, args.zero_ulp)
                cls = fraction_class(x, eps)
                if cls in ("non_integer", "half"):
                    record[cls] += 1
                xs.append(x)
            regime, m = row_regime(xs, dims, radius, default_radius)
            record[regime] += 1
            counts["dead" if dead[n] else "live"][regime][t] += 1
            run = run + 1 if regime == "frozen" else 0
            if m is not None:
                largest = m if largest is None else max(largest, m)
            if regime in ("hop", "thermal"):
                moved_at.append(t)
        row = {"token": n, "dead": int(dead[n]), "moved": len(moved_at), "hops": record["hop"],
               "thermal": record["thermal"], "frozen": record["frozen"], "nonfinite_rows": record["nonfinite"],
               "first_moved": moved_at[0] if moved_at else -1, "last_moved": moved_at[-1] if moved_at else -1,
               "crossings": record["crossings"], "non_integer": record["non_integer"], "half": record["half"],
               "max_magnitude": largest, "final_frozen_run": run}
        for key, v in row.items():
            columns[key].append(v)

    every = {k: [a + b for a, b in zip(counts["live"][k], counts["dead"][k])] for k in counts["live"]}
    motion = summary(every["frozen"], every["hop"], every["thermal"], every["nonfinite"], radius)
    for p in ("live", "dead"):
        c = counts[p]
        motion[p] = summary(c["frozen"], c["hop"], c["thermal"], c["nonfinite"], radius)
    with open(args.output, "w") as out:
        json.dump({"motion": motion, "per_token": columns}, out, indent=1)


if __name__ == "__main__":
    main()
