#!/usr/bin/python3
"""A checkpoint series written by latdisp.Recorder carries the hyperparameters and the
learning rate of each step in its checkpoints' __metadata__ (docs/formats.md §15):
`latdisp optimizer` on the series without any hyperparameter option must give the report
of the HDF5 recording of the same run audited with every hyperparameter on the command
line (outside "run" and the input's path and layout), replay the run bit for bit, and name
the sources. One checkpoint without its `lr` metadata: exit 2, one message naming it; the
first (the initial state, which took no step) without it: the same report.

    cli_optimizer_series.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]

Exits 77 when torch, numpy or h5py cannot be imported (the test is skipped then).
"""
import json
import os
import shutil
import subprocess
import sys

latdisp, source, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
mpiexec = sys.argv[5:]
try:
    import torch
    import numpy  # noqa: F401  (the Recorder's writer needs them)
    import h5py  # noqa: F401
except ImportError as error:
    print(f"SKIP: {error}")
    sys.exit(77)
sys.path.insert(0, os.path.join(source, "python"))
import latdisp as package  # noqa: E402

BETAS, EPS, DECAY, STEPS = (0.85, 0.99), 1e-7, 0.05, 9
failures = []


def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def record(hdf5, series):
    """A real torch AdamW run on a bf16 embedding, a per-step schedule, recorded twice."""
    torch.manual_seed(3)
    embedding = torch.nn.Embedding(23, 19).to(torch.bfloat16)
    optimizer = torch.optim.AdamW(embedding.parameters(), lr=2e-3, betas=BETAS, eps=EPS, weight_decay=DECAY)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1 + step) + 0.25)
    with package.Recorder(hdf5, embedding, optimizer, steps=STEPS) as a, \
            package.Recorder(series, embedding, optimizer, steps=STEPS) as b:
        for step in range(STEPS):
            tokens = torch.randint(0, 17, (8,))  # tokens 17..22 never trained
            loss = embedding(tokens).float().pow(2).sum() * (1 + step % 3)
            loss.backward()
            optimizer.step()
            a.record()
            b.record()
            optimizer.zero_grad()
            schedule.step()


def audit(name, arguments):
    report = os.path.join(work, name + ".json")
    run = subprocess.run(mpiexec + ["-np", ranks, latdisp, "optimizer", "--update-rule", "torch-mul-add",
                                    "--report", report, "--progress-seconds", "0"] + arguments,
                         capture_output=True, text=True, timeout=120)
    return run, report


PHASES = ["startup", "init", "open", "setup", "read", "replay", "agree", "block_pause", "checkpoint", "reduce",
          "write"]


def check_timings(t, stdout):
    """docs/optimizer.md §6: the phases, in order, add up to rank 0's wall time; the totals are theirs."""
    phases = {p["phase"]: p for p in t["phases"]}
    check([p["phase"] for p in t["phases"]] == PHASES and t["concurrent"] == [], f"the phases in order: {t['phases']}")
    if failures:
        return
    rank_0 = {name: p["rank_0"] for name, p in phases.items()}
    close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(b))
    check(t["wall"] > 0 and close(sum(rank_0.values()), t["wall"]), f"the phases add up to wall {t['wall']}: {rank_0}")
    check(all(0 <= p["rank_0"] <= p["max"] * (1 + 1e-12) <= p["sum"] * (1 + 1e-12) for p in t["phases"]),
          "each phase: rank 0 <= max <= sum over the ranks")
    check(all(rank_0[name] > 0 for name in ("open", "setup", "read", "replay", "agree", "reduce")),
          f"the audit's phases are timed: {rank_0}")
    check(close(t["read"], rank_0["read"]) and close(t["reduce"], rank_0["reduce"])
          and close(t["compute"], rank_0["replay"] + rank_0["agree"])
          and close(t["total"], t["wall"] - rank_0["startup"] - rank_0["init"] - rank_0["write"]),
          f"read, compute, reduce and total from the phases: {t}")
    check(f"where time went (rank 0, {t['wall']:.2f} s since its start): " in stdout,
          "the text report's where time went line: " + stdout[-300:])


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
hdf5, series = os.path.join(work, "run.h5"), os.path.join(work, "series")
torch.set_num_threads(1)
record(hdf5, series)

with_options = ["--lr", "lr", "--betas", f"{BETAS[0]},{BETAS[1]}", "--eps", repr(EPS), "--weight-decay", repr(DECAY)]
run_h, report_h = audit("hdf5_options", ["--input", hdf5] + with_options)
run_s, report_s = audit("series_metadata", ["--input", series])
check(run_h.returncode == 0 and run_s.returncode == 0,
      f"both audits run (exit {run_h.returncode}, {run_s.returncode}) {run_h.stderr[-300:]} {run_s.stderr[-300:]}")
if not failures:
    compare = subprocess.run([sys.executable, os.path.join(source, "tests", "compare_reports.py"), report_h, report_s,
                              "--ignore", "input/path", "--ignore", "input/format"], capture_output=True, text=True)
    check(compare.returncode == 0, "the series without options gives the HDF5-with-options report: "
          + compare.stdout[-600:])
    h, s = (json.load(open(path)) for path in (report_h, report_s))
    hh, hs = h["run"]["hyperparameters"], s["run"]["hyperparameters"]
    check(all(hh[k]["value"] == hs[k]["value"] for k in ("beta1", "beta2", "eps", "weight_decay")),
          f"the same hyperparameter values: {hh} / {hs}")
    check(all(hs[k]["source"] == "attribute" for k in ("beta1", "beta2", "eps", "weight_decay"))
          and hs["lr"] == {"dataset": "lr", "source": "dataset"},
          f"the series' sources: its metadata ({hs})")
    replay = s["replay"]
    check(all(replay[k]["mismatch"] == 0 and replay[k]["match"] > 0 for k in ("W", "exp_avg", "exp_avg_sq")),
          "the series replays torch bit for bit (the metadata's rates are the ones the steps used)")
    check_timings(h["run"]["timings_s"], run_h.stdout)
    # Without the schedule (lr of the first checkpoint for every step) the replay would differ:
    # the test can see a wrong learning rate.
    run_c, report_c = audit("series_constant", ["--input", series, "--lr", "2e-3"])
    constant = json.load(open(report_c))["replay"]["W"]["mismatch"] if run_c.returncode == 0 else -1
    check(constant > 0, f"a constant rate instead of the recorded schedule mismatches ({constant} of W)")

def without_lr(name, index):
    """A copy of the series whose checkpoint `index` (in step order) has no `lr` metadata; its name."""
    copy = os.path.join(work, name)
    shutil.copytree(series, copy)
    victim = sorted(os.listdir(copy), key=lambda n: int(n.split("-")[1].split(".")[0]))[index]
    path = os.path.join(copy, victim)
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        entries = json.loads(f.read(length))
        data = f.read()
    del entries["__metadata__"]["lr"]
    text = json.dumps(entries).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data)
    return copy, victim


# One checkpoint without its lr: exit 2 naming it.
broken, victim = without_lr("broken", 4)
run_b, _ = audit("series_broken", ["--input", broken])
check(run_b.returncode == 2 and run_b.stderr.count("latdisp: error:") == 1 and victim in run_b.stderr
      and "no metadata 'lr'" in run_b.stderr,
      f"a checkpoint without lr metadata: exit 2 naming it (exit {run_b.returncode}: {run_b.stderr[:300]})")
# The initial state's checkpoint took no step: it may leave its lr out, with the same report.
initial, _ = without_lr("initial_without_lr", 0)
run_i, report_i = audit("series_initial_without_lr", ["--input", initial])
check(run_i.returncode == 0, f"the first checkpoint without lr is audited (exit {run_i.returncode}: {run_i.stderr[-300:]})")
if run_i.returncode == 0:
    compare = subprocess.run([sys.executable, os.path.join(source, "tests", "compare_reports.py"), report_s, report_i,
                              "--ignore", "input/path"], capture_output=True, text=True)
    check(compare.returncode == 0, "the first checkpoint without lr gives the same report: " + compare.stdout[-500:])

print(f"cli_optimizer_series (np {ranks}): {len(failures)} failed")
sys.exit(1 if failures else 0)
