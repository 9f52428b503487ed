#!/usr/bin/python3
"""Training steps wherever a step is shown (docs/report.md "motion"): on a
strided checkpoint series (every 25th step) the JSON's *_training_step twins,
the text report, the series CSV and tools/plot_report.py's step axis name
training steps, from an oracle of the designed motion; an HDF5 file without
step numbers gives null twins and transition labels.
usage: check_training_steps.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [FLAGS...]"""
import csv
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import strided_series  # noqa: E402

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def analyze(latdisp, mpiexec, ranks, *args):
    command = mpiexec + ["-np", str(ranks), latdisp, "analyze", "--progress-seconds", "0", "--overwrite", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        sys.exit(f"FAIL: {' '.join(command)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def check_motion_keys(report, expected, label):
    motion = report["motion"]
    for key, value in expected.items():
        check(motion[key] == value, f"{label}: motion.{key} = {motion[key]} (oracle {value})")


def check_plot_axis(source, report, label):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("skipped: the figures' axes (no matplotlib)")
        return
    sys.path.insert(0, os.path.join(source, "tools"))
    import plot_report  # noqa: E402
    steps = report["input"]["steps"]
    bins = plot_report.StepBins(report["input"]["shape"][0] - 1, 500, steps)
    fig = plot_report.new_figure(8, 4)
    ax = fig.subplots()
    plot_report.draw_regimes(ax, report, bins, "all", False)
    check(ax.get_xlabel() == plot_report.TRAINING_STEP_LABEL, f"{label}: the figure's axis says training step")
    formatter = ax.xaxis.get_major_formatter()
    check([formatter(t, None) for t in (0, 5, 11)] == [str(steps[1]), str(steps[6]), str(steps[12])],
          f"{label}: axis ticks at t = 0, 5, 11 read the training steps {steps[1]}, {steps[6]}, {steps[12]}")
    legend = [h.get_label() for h in ax.get_lines()]
    thermal = report["motion"]["last_thermal_training_step"]
    check(any(f"step {thermal}" in text for text in legend), f"{label}: the last-thermal mark names step {thermal}")


def main():
    latdisp, source, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    mpiexec = sys.argv[5:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    bits = strided_series.trajectory_bits()
    steps = strided_series.write_series("series", bits)
    text = analyze(latdisp, mpiexec, ranks, "--input", "series", "--dataset", "emb", "--report", "series.json",
                   "--series-csv", "series.csv")
    report = json.load(open("series.json"))
    check(report["input"]["steps"] == steps, "input.steps holds the series' training steps")
    expected = strided_series.oracle_motion(bits, steps)
    check(expected["last_thermal_training_step"] == 150 and expected["frozen_from_training_step"] == 225,
          "the oracle sees the designed motion (thermal to step 150, frozen from step 225)")
    check_motion_keys(report, expected, "series")
    check("thermal motion last at t=5 (training step 125 -> 150)" in text, "text: last thermal motion's steps")
    check("frozen from t=9 (W unchanged from training step 225 on)" in text, "text: the freeze's training step")
    rows = list(csv.DictReader(open("series.csv")))
    check([int(r["to_step"]) for r in rows] == steps[1:] and [int(r["from_step"]) for r in rows] == steps[:-1],
          "series CSV: from_step and to_step are the training steps")
    check_plot_axis(source, report, "series")

    with h5py.File("plain.h5", "w") as f:  # the same W without step numbers
        f["W"] = bits
    analyze(latdisp, mpiexec, ranks, "--input", "plain.h5", "--report", "plain.json")
    plain = json.load(open("plain.json"))
    check_motion_keys(plain, strided_series.oracle_motion(bits, None), "no step numbers")
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
