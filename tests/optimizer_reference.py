#!/usr/bin/python3
"""An independent reference for `latdisp optimizer` (docs/optimizer.md),
written from the definitions with numpy (float64), math.fsum (exact sums, correctly rounded) and,
for the torch-mul-add replay, torch itself (each step replayed by
torch.optim.AdamW under the recorded CPU capability).

    optimizer_reference.py RUN.h5|RUN.safetensors REPORT.json [--lr X|NAME] [--update-rule R]
        [--torch-capability C] [--torch-threads T] [--step-offset K] [--no-replay]

Compares every key of REPORT.json that it computes; prints the differences and
exits 1 if there are any.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np

POPS = ("all", "live", "dead")
CLASSES = ("still", "swallowed", "spurious", "reversed", "amplified", "attenuated", "exact", "nonfinite")


def load(path):
    """name -> numpy array (bf16 as uint16 bits, f32 as float32), and the attributes."""
    if path.endswith(".safetensors"):
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            data = f.read()
        meta = {k: float(v) for k, v in header.pop("__metadata__", {}).items()}
        kinds = {"BF16": np.uint16, "U16": np.uint16, "F32": np.float32, "F64": np.float64, "BOOL": np.bool_,
                 "U8": np.uint8, "I64": np.int64}
        out = {}
        for name, e in header.items():
            b, t = e["data_offsets"]
            out[name] = np.frombuffer(data[b:t], dtype=kinds[e["dtype"]]).reshape(e["shape"])
        return out, meta
    import h5py
    with h5py.File(path, "r") as f:
        out = {k: f[k][...] for k in f.keys()}
        meta = {k: float(v) for k, v in f.attrs.items()}
    return out, meta


def as_float64(bits):
    if bits.dtype == np.float32:
        return bits.astype(np.float64)
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def ulp_exponent(bits):
    """log2 U(b) of finite values, zeros 2^-126 (min-normal)."""
    if bits.dtype == np.float32:
        raw = bits.view(np.uint32).astype(np.int64)
        e = (raw >> 23) & 0xFF
        return np.where(e > 0, e, 1) - 127 - 23
    raw = bits.astype(np.int64)
    e = (raw >> 7) & 0xFF
    return np.where(e > 0, e, 1) - 127 - 7


def hyper(args, meta, tensors, steps):
    b1, b2 = (0.9, 0.999)
    if args.betas:
        b1, b2 = (float(x) for x in args.betas.split(","))
    else:
        b1 = meta.get("adam_beta1", b1)
        b2 = meta.get("adam_beta2", b2)
    eps = float(args.eps) if args.eps else meta.get("adam_epsilon", 1e-8)
    wd = float(args.weight_decay) if args.weight_decay else meta.get("weight_decay", 0.01)
    if args.lr is not None:
        try:
            lr = [float(args.lr)] * steps
        except ValueError:
            lr = list(tensors[args.lr].astype(np.float64))
    elif "lr" in tensors:
        lr = list(tensors["lr"].astype(np.float64))
    else:
        lr = [meta["learning_rate"]] * steps
    return lr, b1, b2, eps, wd


def step_counts(args, tensors, steps):
    """The optimizer's step count k of each snapshot: t + --step-offset, or the
    input's training step numbers (a `steps` dataset) when no offset is given."""
    if args.step_offset is None and "steps" in tensors:
        return [int(k) for k in tensors["steps"]]
    return [t + (args.step_offset or 0) for t in range(steps)]


def as_bits(a):
    """Values compared bit for bit: float32 as its 32-bit patterns (a NaN equals its own bits)."""
    return a.view(np.uint32) if a.dtype == np.float32 else a


def exact_sum(values):
    """The exact sum of the doubles, correctly rounded (math.fsum: Shewchuk's algorithm)."""
    return math.fsum(float(v) for v in values)


def torch_replay(path, args, steps):
    """Runs this script's replay mode under the recorded capability; returns
    the replayed W, exp_avg, exp_avg_sq bits for steps 1..S-1."""
    env = dict(os.environ, ATEN_CPU_CAPABILITY=args.torch_capability)
    out = path + ".replay.npz"
    cmd = [sys.executable, __file__, path, "-", "--replay-to", out, "--torch-threads", str(args.torch_threads)]
    for opt in ("lr", "betas", "eps", "weight_decay"):
        v = getattr(args, opt)
        if v is not None:
            cmd += ["--" + opt.replace("_", "-"), str(v)]
    if args.step_offset is not None:
        cmd += ["--step-offset", str(args.step_offset)]
    subprocess.run(cmd, check=True, env=env)
    z = np.load(out)
    os.remove(out)
    return z["W"], z["exp_avg"], z["exp_avg_sq"]


def replay_with_torch(args):
    import torch
    torch.set_num_threads(args.torch_threads)
    tensors, meta = load(args.input)
    W, G, M, V = (tensors[k] for k in ("W", "grad_W", "momentum_W", "variance_W"))
    steps = W.shape[0]
    lr, b1, b2, eps, wd = hyper(args, meta, tensors, steps)
    bf16 = W.dtype == np.uint16

    def tensor(a):
        if bf16:
            return torch.from_numpy(a.astype(np.int16)).view(torch.bfloat16).clone()
        return torch.from_numpy(a.copy())

    def bits(t):
        return t.detach().view(torch.int16).numpy().astype(np.uint16) if bf16 else t.detach().numpy().copy()

    out = {k: [] for k in ("W", "exp_avg", "exp_avg_sq")}
    counts = step_counts(args, tensors, steps)
    for t in range(1, steps):
        k = counts[t]
        p = torch.nn.Parameter(tensor(W[t - 1]))
        opt = torch.optim.AdamW([p], lr=lr[t], betas=(b1, b2), eps=eps, weight_decay=wd)
        p.grad = tensor(G[t])
        opt.state[p] = {"step": torch.tensor(float(k - 1)), "exp_avg": tensor(M[t - 1]),
                        "exp_avg_sq": tensor(V[t - 1])}
        opt.step()
        out["W"].append(bits(p))
        out["exp_avg"].append(bits(opt.state[p]["exp_avg"]))
        out["exp_avg_sq"].append(bits(opt.state[p]["exp_avg_sq"]))
    np.savez(args.replay_to, **{k: np.stack(v) for k, v in out.items()})


def reference(args):
    tensors, meta = load(args.input)
    W, M, V = tensors["W"], tensors["momentum_W"], tensors["variance_W"]
    S, N, D = W.shape
    lr, b1, b2, eps, wd = hyper(args, meta, tensors, S)
    dead = tensors.get("dead_mask", np.zeros(N, dtype=bool)).astype(bool)
    w, m, v = as_float64(W), as_float64(M), as_float64(V)
    pops = {"all": np.ones(N, dtype=bool), "live": ~dead, "dead": dead}
    replayed = None
    if not args.no_replay and args.update_rule == "torch-mul-add":
        replayed = torch_replay(args.input, args, S)
    per = []  # per step: dict of arrays (N, D)
    counts = step_counts(args, tensors, S)
    for t in range(1, S):
        k = counts[t]
        bc1, bc2 = 1 - b1 ** k, 1 - b2 ** k
        with np.errstate(all="ignore"):
            u = -lr[t] * wd * w[t - 1] - (lr[t] / bc1) * m[t] / (np.sqrt(v[t] / bc2) + eps)
            delta = w[t] - w[t - 1]
        finite = np.isfinite(w[t - 1]) & np.isfinite(w[t]) & np.isfinite(m[t]) & np.isfinite(v[t]) & np.isfinite(u)
        cells = np.abs(u) / np.exp2(ulp_exponent(W[t - 1]).astype(np.float64))
        cls = np.full((N, D), 7)
        au, ad = np.abs(u), np.abs(delta)
        conds = [(u == 0) & (delta == 0), (u != 0) & (delta == 0), (u == 0) & (delta != 0),
                 (u != 0) & (delta != 0) & (np.sign(u) != np.sign(delta)), ad > au, ad < au, ad == au]
        chosen = np.zeros((N, D), dtype=bool)
        for c, cond in enumerate(conds):
            sel = finite & cond & ~chosen
            cls[sel] = c
            chosen |= sel
        step = {"u": u, "delta": delta, "cells": cells, "cls": cls, "finite": finite}
        step["decay_eligible"] = np.isfinite(w[t - 1]) & (w[t - 1] != 0) & (lr[t] * wd != 0)
        for name, arr in (("exp_avg", m), ("exp_avg_sq", v)):
            ok = np.isfinite(arr[t]) & np.isfinite(arr[t - 1])
            step[name] = (ok & (arr[t] > arr[t - 1]), ok & (arr[t] == arr[t - 1]), ok & (arr[t] < arr[t - 1]))
        if replayed is not None:
            step["mismatch"] = [as_bits(replayed[j][t - 1]) != as_bits(x[t]) for j, x in enumerate((W, M, V))]
        per.append(step)
    return per, pops, (S, N, D), lr, wd, replayed, tensors


def expected(args):
    per, pops, (S, N, D), lr, wd, replayed, tensors = reference(args)
    out = {}
    for pop, rows in pops.items():
        key = (lambda section: section) if pop == "all" else None
        classes = {c: 0 for c in CLASSES}
        per_step = {c: [] for c in CLASSES}
        sums = {k: [] for k in ("intended_l1", "realized_l1", "lost_l1", "dot", "intended_sq")}
        cells_all, sub, sub_moved = [], 0, 0
        states = {s: {"increased": [], "unchanged": [], "decreased": []} for s in ("exp_avg", "exp_avg_sq")}
        decay = {"eligible": [], "noop": []}
        freeze = {k: [] for k in ("frozen_as_predicted", "moved_though_predicted_frozen",
                                  "frozen_though_predicted_moving", "moved_as_predicted")}
        mismatch = {k: [] for k in ("W", "exp_avg", "exp_avg_sq")}
        step_intended, step_lost = [], []
        for st in per:
            sel = rows[:, None] & np.ones((1, D), dtype=bool)
            f = st["finite"] & sel
            for c, name in enumerate(CLASSES):
                n = int(np.sum((st["cls"] == c) & sel))
                classes[name] += n
                per_step[name].append(n)
            u, dl = st["u"][f], st["delta"][f]
            terms = {"intended_l1": np.abs(u), "realized_l1": np.abs(dl), "lost_l1": np.abs(u - dl), "dot": u * dl,
                     "intended_sq": u * u}
            for k2, v2 in terms.items():
                sums[k2].extend(v2.tolist())
            step_intended.append(exact_sum(terms["intended_l1"]))
            step_lost.append(exact_sum(terms["lost_l1"]))
            c = st["cells"][f & (st["u"] != 0)]
            cells_all.extend(c.tolist())
            sh = f & (st["u"] != 0) & (st["cells"] < 0.5)
            sub += int(np.sum(sh))
            sub_moved += int(np.sum(sh & (st["delta"] != 0)))
            for s in ("exp_avg", "exp_avg_sq"):
                for k2, arr in zip(("increased", "unchanged", "decreased"), st[s]):
                    states[s][k2].append(int(np.sum(arr & sel)))
            decay["eligible"].append(int(np.sum(st["decay_eligible"] & sel)))
            pred = np.all(st["finite"] & (st["cells"] < 0.5), axis=1)
            real = np.all(st["finite"] & (st["delta"] == 0), axis=1)
            for k2, cond in zip(freeze, (real & pred, ~real & pred, real & ~pred, ~real & ~pred)):
                freeze[k2].append(int(np.sum(cond & rows)))
            if "mismatch" in st:
                for k2, mm in zip(mismatch, st["mismatch"]):
                    mismatch[k2].append(int(np.sum(mm & sel)))
        exact = {k: exact_sum(v) for k, v in sums.items()}
        q = {}
        for p in ("50", "90", "99", "99.9"):
            q[p] = float(np.percentile(np.array(cells_all), float(p))) if cells_all else None
        block = {
            "classes": dict(classes, coordinates=sum(classes.values()), per_step=per_step),
            "cells": {"sub_half_cell": sub, "sub_half_cell_moved": sub_moved, "percentiles": q},
            "sums": dict(exact, lost_fraction=exact["lost_l1"] / exact["intended_l1"] if exact["intended_l1"] else None,
                         projection=exact["dot"] / exact["intended_sq"] if exact["intended_sq"] else None,
                         per_step={"intended_l1": step_intended, "lost_l1": step_lost,
                                   "lost_fraction": [l / i if i else None for l, i in zip(step_lost, step_intended)]}),
            "states": {s: {k2: sum(v2) for k2, v2 in states[s].items()} | {"per_step": states[s]} for s in states},
            "weight_decay": {"eligible": sum(decay["eligible"])},
            "freeze_prediction": {k2: sum(v2) for k2, v2 in freeze.items()} | {"per_step": freeze},
        }
        if replayed is not None:
            total = sum(classes.values())
            block["replay"] = {k2: {"match": total - sum(v2), "mismatch": sum(v2), "per_step_mismatch": v2}
                               for k2, v2 in mismatch.items()}
        out[pop] = block
    return out


def compare(expect, got, where, problems):
    if isinstance(expect, dict):
        for k, v in expect.items():
            if k not in got:
                problems.append(f"{where}.{k}: missing")
                continue
            compare(v, got[k], f"{where}.{k}", problems)
    elif isinstance(expect, list):
        if len(expect) != len(got):
            problems.append(f"{where}: length {len(got)}, expected {len(expect)}")
            return
        for i, (a, b) in enumerate(zip(expect, got)):
            compare(a, b, f"{where}[{i}]", problems)
    elif expect != got:
        problems.append(f"{where}: {got!r}, expected {expect!r}")


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("report")
    p.add_argument("--lr")
    p.add_argument("--betas")
    p.add_argument("--eps")
    p.add_argument("--weight-decay")
    p.add_argument("--update-rule", default="torch-lerp")
    p.add_argument("--torch-capability", default="avx2")
    p.add_argument("--torch-threads", type=int, default=1)
    p.add_argument("--step-offset", type=int)
    p.add_argument("--no-replay", action="store_true")
    p.add_argument("--replay-to")
    args = p.parse_args(argv)
    if args.replay_to:
        replay_with_torch(args)
        return 0
    with open(args.report) as f:
        report = json.load(f)
    problems = []
    for pop, block in expected(args).items():
        for section, value in block.items():
            got = report[section] if pop == "all" else report[section][pop]
            compare(value, got, f"{section}" + ("" if pop == "all" else f".{pop}"), problems)
    for line in problems[:40]:
        print(line)
    print(f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
