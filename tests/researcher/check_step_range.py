#!/usr/bin/python3
"""analyze --steps A:B[:K] (docs/formats.md §17) gives the report of the
sliced trajectory: the same numbers, input.shape included, with input.steps
the selected snapshots' training steps (or indices). Checked against files
sliced here with h5py / by copying checkpoints, for an HDF5 file (contiguous:
mapped and read; strided: read) and a checkpoint series, and the refusals.
usage: check_step_range.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [FLAGS...]"""
import json
import os
import shutil
import subprocess
import sys

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import strided_series  # noqa: E402
from compare_reports import differences, drop  # noqa: E402

failures = []
TWINS = [f"motion/{p}{k}_training_step" for p in ("", "live/", "dead/")
         for k in ("first_motion", "last_motion", "last_hop", "last_thermal", "frozen_from")]


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def latdisp_run(context, *args):
    latdisp, mpiexec, ranks = context
    command = mpiexec + ["-np", str(ranks), latdisp, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def analyze(context, name, *args):
    done = latdisp_run(context, "analyze", "--progress-seconds", "0", "--report", f"{name}.json", *args)
    if done.returncode != 0:
        sys.exit(f"FAIL: analyze {args} exited {done.returncode}: {done.stderr}")
    return json.load(open(f"{name}.json"))


def same_report(got, want, ignored, what):
    got, want = json.loads(json.dumps(got)), json.loads(json.dumps(want))
    for key_path in ["run", "input/path", "input/steps"] + ignored:
        drop(got, key_path)
        drop(want, key_path)
    found = list(differences(want, got))
    for line in found[:10]:
        print(f"  {line}")
    check(not found, what)


def slice_hdf5(source, target, snapshots):
    with h5py.File(source, "r") as f, h5py.File(target, "w") as g:
        g["W"] = f["W"][snapshots]
        g["dead_mask"] = f["dead_mask"][()]


def check_hdf5(context, ranks):
    latdisp_run(context, "generate", "--output", "w.h5", "--steps", "21", "--tokens", "40", "--dims", "16",
                "--special", "--seed", "4", "--overwrite")
    for steps, snapshots, methods in (("3:15", list(range(3, 16)), ("map", "read")),
                                      ("2:18:4", [2, 6, 10, 14, 18], ("read",))):
        slice_hdf5("w.h5", "sliced.h5", snapshots)
        want = analyze(context, "sliced", "--input", "sliced.h5", "--overwrite")
        for method in methods:
            got = analyze(context, "selected", "--input", "w.h5", "--steps", steps, "--read-method", method,
                          "--overwrite")
            same_report(got, want, TWINS, f"hdf5 --steps {steps} ({method}, {ranks} rank(s)) = the sliced file")
            check(got["input"]["shape"] == [len(snapshots), 40, 16], f"hdf5 --steps {steps}: input.shape")
            check(got["input"]["steps"] == snapshots, f"hdf5 --steps {steps}: input.steps = the snapshot indices")
            check(got["motion"]["last_motion_training_step"] in (None, *snapshots),
                  f"hdf5 --steps {steps}: training-step twins name selected snapshots")
    done = latdisp_run(context, "analyze", "--input", "w.h5", "--steps", "2:18:4", "--read-method", "map")
    check(done.returncode == 1, "a strided selection cannot be mapped: --read-method map refused (exit 1)")


def check_series(context, ranks):
    bits = strided_series.trajectory_bits()
    steps = strided_series.write_series("series", bits)
    snapshots = [2, 5, 8, 11]
    os.makedirs("sliced_series")
    for s in snapshots:
        shutil.copytree(f"series/checkpoint-{steps[s]}", f"sliced_series/checkpoint-{steps[s]}")
    want = analyze(context, "sliced_series", "--input", "sliced_series", "--dataset", "emb", "--overwrite")
    got = analyze(context, "selected_series", "--input", "series", "--dataset", "emb", "--steps", "2:11:3",
                  "--overwrite")
    same_report(got, want, [], f"series --steps 2:11:3 ({ranks} rank(s)) = the sliced series, training steps too")
    check(got["input"]["steps"] == [steps[s] for s in snapshots], "series: input.steps = the training steps")


def check_refusals(context):
    for steps, code, why in (("0:99", 2, "past the last snapshot"), ("5:5", 2, "a single snapshot"),
                             ("5:2", 1, "B before A"), ("1:x", 1, "not a number")):
        done = latdisp_run(context, "analyze", "--input", "w.h5", "--steps", steps)
        lines = [line for line in done.stderr.splitlines() if line.startswith("latdisp: error:")]
        check(done.returncode == code and len(lines) == 1, f"--steps {steps} ({why}): exit {code}, one message")


def main():
    latdisp, source, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    context = (latdisp, sys.argv[5:], ranks)
    check_hdf5(context, ranks)
    check_series(context, ranks)
    check_refusals(context)
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
