#!/usr/bin/env python3
"""`latdisp blackholes --steps` against an independent numpy oracle.

Hand-built trajectories (h5py) where groups form at a known step, split for
one step and re-form, sit inside a larger group before shrinking, break
apart after step 0, and hold dead members; plus a random trajectory with many
coincidences. The oracle follows docs/definitions.md ("Black holes over
time") literally: numpy's unique rows per selected step, then formed_at by
scanning back from the last selected step and intact_until by scanning
forward from the first. The whole JSON (steps, per_step, final_groups,
initial_groups, groups) must equal the oracle's, with forced hash collisions
and tiny step blocks too; the CSV and the --output file as well.

usage: check_blackholes_over_time.py LATDISP WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
"""
import csv
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from safetensors_writer import write_safetensors  # noqa: E402


def planted_trajectory():
    """S=12, N=32, D=6 with the histories the tests name (see the comments)."""
    steps, tokens, dims = 12, 32, 6
    rng = np.random.default_rng(5)
    # Every row distinct by default: a token id and a step in the first two dims.
    w = rng.integers(0x3C00, 0x4400, size=(steps, tokens, dims), dtype=np.uint16)
    w[:, :, 0] = np.arange(tokens, dtype=np.uint16)[None, :] + 0x3F00
    w[:, :, 1] = np.arange(steps, dtype=np.uint16)[:, None] + 0x4000
    same = lambda t, members, row: w.__setitem__((t, members), row)  # noqa: E731
    for t in range(steps):
        base = w[t, 0].copy()
        base[0] = 0x1234
        # Tokens 3, 7, 11 become identical at step 5 and stay so.
        if t >= 5:
            same(t, [3, 7, 11], base ^ 1)
        # Tokens 0, 1, 2, 4, 5: identical except at step 6 (token 2 differs).
        same(t, [0, 1, 2, 4, 5], base ^ 2)
        if t == 6:
            w[t, 2, 5] ^= 0x0001
        # Tokens 12..19 identical up to step 4; then 12 and 13 drift apart,
        # 14..19 stay together (a group inside a larger one, then shrunk).
        same(t, list(range(12, 20)), base ^ 3)
        if t >= 5:
            w[t, 12, 4] ^= 0x0010
            w[t, 13, 4] ^= 0x0020
        # Tokens 20, 21, 22 identical at step 0 only.
        if t == 0:
            same(t, [20, 21, 22], base ^ 4)
        # Tokens 23, 24 identical at even steps only.
        if t % 2 == 0:
            same(t, [23, 24], base ^ 5)
        # Tokens 25..28 identical from step 3, and 27, 28 were a pair before.
        if t >= 3:
            same(t, [25, 26, 27, 28], base ^ 6)
        else:
            same(t, [27, 28], base ^ 7)
    dead = np.zeros(tokens, dtype=bool)
    dead[[14, 15, 16, 21, 25, 30]] = True
    return w, dead


def random_trajectory():
    """Few distinct values per coordinate and sticky rows: groups appear,
    merge, split and vanish at random."""
    steps, tokens, dims = 10, 64, 3
    rng = np.random.default_rng(11)
    w = np.zeros((steps, tokens, dims), dtype=np.uint16)
    w[0] = rng.integers(0, 3, size=(tokens, dims))
    for t in range(1, steps):
        moved = rng.random(tokens) < 0.3
        w[t] = w[t - 1]
        w[t, moved] = rng.integers(0, 3, size=(int(moved.sum()), dims))
    w |= 0x3F00  # bfloat16 values near 0.5; the bits are all that matters
    dead = rng.random(tokens) < 0.25
    return w, dead


def write_h5(path, w, dead):
    with h5py.File(path, "w") as f:
        f["W"] = w
        f["dead_mask"] = dead


def write_other_formats(work, w, dead):
    """The same trajectory as a safetensors file (W among other tensors) and as
    a checkpoint series (one file per training step 100, 200, ...)."""
    trajectory = os.path.join(work, "planted.safetensors")
    write_safetensors(trajectory, [("grad_W", "BF16", np.zeros((2, 3), np.uint16)), ("W", "BF16", w),
                                   ("dead_mask", "BOOL", dead)])
    series = os.path.join(work, "planted_series")
    os.makedirs(series, exist_ok=True)
    for t in range(w.shape[0]):
        write_safetensors(os.path.join(series, f"checkpoint-{100 * (t + 1)}.safetensors"), [("embed", "BF16", w[t])])
    write_safetensors(os.path.join(work, "planted_mask.safetensors"), [("dead", "BOOL", dead)])
    return trajectory, series


def groups_at(rows, min_size):
    """The groups of bit-identical rows, each a sorted list of tokens."""
    _, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    groups = [sorted(np.flatnonzero(inverse == k).tolist()) for k in np.flatnonzero(counts >= min_size)]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def identical(rows, members):
    return bool((rows[members] == rows[members[0]]).all())


def members_left(w, selected, group, min_size):
    """When each member left the group's core: at each later step, the largest set of staying members whose
    rows are identical and belong to a group (>= min_size identical rows in all), ties to the set with the
    smallest member; a core of fewer than 2 members keeps no one."""
    left = {token: None for token in group}
    for t in selected[1:]:
        staying = [token for token in group if left[token] is None]
        sets = {}
        for token in staying:
            if int((w[t] == w[t][token]).all(axis=1).sum()) >= min_size:
                sets.setdefault(w[t][token].tobytes(), []).append(token)
        core = max(sets.values(), key=lambda members: (len(members), -members[0]), default=[])
        for token in staying:
            if len(core) < 2 or token not in core:
                left[token] = t
    return [{"token": token, "left_at": left[token]} for token in group]


def oracle(w, dead, selected, min_size):
    per_step = {"groups": [], "members": [], "largest": [], "dead_members": []}
    for t in selected:
        groups = groups_at(w[t], min_size)
        per_step["groups"].append(len(groups))
        per_step["members"].append(sum(len(g) for g in groups))
        per_step["largest"].append(max((len(g) for g in groups), default=0))
        per_step["dead_members"].append(int(sum(dead[g].sum() for g in groups)))
    final_groups, named = [], []
    for i, g in enumerate(groups_at(w[selected[-1]], min_size)):
        k = len(selected) - 1
        while k > 0 and identical(w[selected[k - 1]], g):
            k -= 1
        final_groups.append({"size": len(g), "first_token": g[0], "formed_at": selected[k],
                             "dead_members": int(dead[g].sum())})
        named.append({"name": f"bh{i + 1}_token_ids", "size": len(g), "token_ids": g})
    initial_groups = []
    for g in groups_at(w[selected[0]], min_size):
        k = 0
        while k + 1 < len(selected) and identical(w[selected[k + 1]], g):
            k += 1
        initial_groups.append({"size": len(g), "first_token": g[0], "intact_until": selected[k],
                               "dead_members": int(dead[g].sum()),
                               "members": members_left(w, selected, g, min_size)})
    return {"steps": list(selected), "per_step": per_step, "final_groups": final_groups,
            "initial_groups": initial_groups, "groups": named,
            "grouped_tokens": sum(g["size"] for g in final_groups)}


def selection_of(text, steps):
    if text == "all":
        return list(range(steps))
    parts = [int(p) for p in text.split(":")]
    first, last, stride = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
    return list(range(first, last + 1, stride))


class Checker:
    def __init__(self, latdisp, work, ranks, mpiexec):
        self.latdisp, self.work, self.ranks, self.mpiexec = latdisp, work, ranks, mpiexec
        self.failures = 0
        self.checks = 0

    def expect(self, condition, what):
        self.checks += 1
        if not condition:
            self.failures += 1
            print(f"FAIL: {what}")

    def launch(self, args):
        command = [self.latdisp] if self.ranks == 1 else self.mpiexec + ["-np", str(self.ranks), self.latdisp]
        return subprocess.run(["timeout", "120"] + command + args, capture_output=True, text=True)

    def run_case(self, name, input_path, w, dead, steps, extra, min_size=2, step_numbers=None):
        report = os.path.join(self.work, f"{name}.json")
        series = os.path.join(self.work, f"{name}.csv")
        groups = os.path.join(self.work, f"{name}_groups.h5")
        args = ["blackholes", "--matrix", input_path, "--steps", steps, "--report", report, "--series-csv", series,
                "--output", groups, "--overwrite", "--min-size", str(min_size)] + extra
        result = self.launch(args)
        self.expect(result.returncode == 0, f"{name}: exit {result.returncode}: {result.stderr.strip()}")
        if result.returncode != 0:
            return
        got = json.load(open(report))
        selected = selection_of(steps, w.shape[0])
        expected = oracle(w, dead, selected, min_size)
        for key, value in expected.items():
            self.expect(got.get(key) == value, f"{name}: '{key}' is\n  {got.get(key)}\nexpected\n  {value}")
        self.expect(got["schema"] == "latdisp.blackholes/1", f"{name}: schema")
        self.expect(got["input"]["shape"] == list(w.shape), f"{name}: input.shape")
        self.expect(got["input"]["dead_tokens"] == int(dead.sum()), f"{name}: input.dead_tokens")
        self.expect(got["input"]["steps"] == step_numbers, f"{name}: input.steps {got['input']['steps']}")
        self.check_csv(name, series, expected)
        self.check_groups_file(name, groups, expected)
        self.expect(f"bh1_token_ids" in result.stdout or not expected["groups"], f"{name}: summary lists bh1")

    def check_csv(self, name, path, expected):
        rows = list(csv.DictReader(open(path)))
        got = [[int(r["step"]), int(r["groups"]), int(r["members"]), int(r["largest"]), int(r["dead_members"])]
               for r in rows]
        p = expected["per_step"]
        want = [list(x) for x in zip(expected["steps"], p["groups"], p["members"], p["largest"], p["dead_members"])]
        self.expect(got == want, f"{name}: series CSV\n  {got}\nexpected\n  {want}")

    def check_groups_file(self, name, path, expected):
        with h5py.File(path, "r") as f:
            got = {k: f[k][()].tolist() for k in f.keys()}
        want = {g["name"]: g["token_ids"] for g in expected["groups"]}
        self.expect(got == want, f"{name}: --output groups {got}, expected {want}")


def main():
    latdisp, work, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mpiexec = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    checker = Checker(latdisp, work, ranks, mpiexec)

    planted, planted_dead = planted_trajectory()
    planted_path = os.path.join(work, "planted.h5")
    write_h5(planted_path, planted, planted_dead)
    # The histories the oracle must see (a test that cannot fail is a defect).
    expected = oracle(planted, planted_dead, list(range(12)), 2)
    formed = {g["first_token"]: g["formed_at"] for g in expected["final_groups"]}
    checker.expect(formed == {0: 7, 3: 5, 14: 0, 25: 3}, f"planted histories: formed_at {formed}")
    intact = {g["first_token"]: g["intact_until"] for g in expected["initial_groups"]}
    checker.expect(intact == {0: 5, 12: 4, 20: 0, 23: 0, 27: 11}, f"planted histories: intact_until {intact}")

    cases = [
        ("planted_all", "all", []),
        ("planted_collisions", "all", ["--hash-bits", "1", "--max-steps-per-block", "1"]),
        ("planted_skip_split", "1:11:2", ["--max-steps-per-block", "2"]),  # 1, 3, 5, 7, 9, 11: no step 6
        ("planted_stride3", "0:10:3", ["--hash-bits", "2"]),
        ("planted_window", "4:8", ["--max-steps-per-block", "3"]),
    ]
    for name, steps, extra in cases:
        checker.run_case(name, planted_path, planted, planted_dead, steps, extra)

    # Every input format walks the same steps to the same result.
    trajectory, series = write_other_formats(work, planted, planted_dead)
    checker.run_case("safetensors_stride", trajectory, planted, planted_dead, "1:11:2", ["--hash-bits", "2"])
    numbers = [100 * (t + 1) for t in range(planted.shape[0])]
    checker.run_case("series_all", series + ":embed", planted, planted_dead, "all",
                     ["--dead-mask", os.path.join(work, "planted_mask.safetensors") + ":dead",
                      "--max-steps-per-block", "5"], step_numbers=numbers)

    random_w, random_dead = random_trajectory()
    random_path = os.path.join(work, "random.h5")
    write_h5(random_path, random_w, random_dead)
    checker.run_case("random_collisions", random_path, random_w, random_dead, "all",
                     ["--hash-bits", "1", "--max-steps-per-block", "4"])
    checker.run_case("random_min3", random_path, random_w, random_dead, "2:9:3", ["--hash-bits", "3"], min_size=3)

    print(f"{checker.checks - checker.failures} checks passed, {checker.failures} failed")
    sys.exit(1 if checker.failures else 0)


if __name__ == "__main__":
    main()
