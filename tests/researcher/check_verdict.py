#!/usr/bin/python3
"""The verdict explained in one line with the counts that caused it
(docs/definitions.md §6), in the JSON (displacement.verdict_reason), the text
report and the summary figure, on hand-made W whose classes are worked out
here: b = 2.0 (cells of 2^-6) moving to 1 + 2^-7 gives x = -63.5 (half); to
0.5 + 2^-8 gives x = -95.75 (non-integer); to 2 + 2^-6 gives x = 1 (exact).
usage: check_verdict.py LATDISP SOURCE_DIR WORKDIR MPIEXEC [FLAGS...]"""
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

TWO, HALF_MOVE, QUARTER_MOVE, ONE_CELL = 0x4000, 0x3F81, 0x3F01, 0x4001
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def run(latdisp, mpiexec, name, targets):
    """W[2, 3, 2]: every b = 2.0, W[1] = targets; returns (report, text)."""
    w = np.full((2, 3, 2), TWO, dtype=np.uint16)
    w[1] = np.array(targets, dtype=np.uint16).reshape(3, 2)
    with h5py.File(f"{name}.h5", "w") as f:
        f["W"] = w
    command = mpiexec + ["-np", "2", latdisp, "analyze", "--input", f"{name}.h5", "--report", f"{name}.json",
                         "--progress-seconds", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"FAIL: {command}: {done.stderr}")
    return json.load(open(f"{name}.json")), done.stdout


def main():
    latdisp, source, work = sys.argv[1:4]
    mpiexec = sys.argv[4:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    cases = {
        "general": ([HALF_MOVE, QUARTER_MOVE, QUARTER_MOVE, ONE_CELL, TWO, TWO], "GENERAL_QUARTERS",
                    "2 of 6 finite coordinates moved by a fraction of a cell"),
        "halves": ([HALF_MOVE, ONE_CELL, TWO, TWO, TWO, TWO], "HALF_INTEGERS",
                   "1 of 6 finite coordinates moved by a whole number of cells and a half"),
        "perfect": ([ONE_CELL, TWO, TWO, TWO, TWO, ONE_CELL], "PERFECT",
                    "all 6 finite coordinates moved by exact whole numbers of cells"),
    }
    for name, (targets, verdict, reason) in cases.items():
        report, text = run(latdisp, mpiexec, name, targets)
        d = report["displacement"]
        check(d["verdict"] == verdict, f"{name}: verdict {d['verdict']} (expected {verdict})")
        check(d["verdict_reason"].startswith(reason), f"{name}: verdict_reason '{d['verdict_reason']}'")
        check(f"  why: {d['verdict_reason']}\n" in text, f"{name}: the text report's verdict says why")
    general = json.load(open("general.json"))["displacement"]
    check("(x farther than epsilon from an integer and from a half; 1 by ~1/2, 0 by almost whole cells)"
          in general["verdict_reason"], "general: the reason names the half and almost counts")
    try:
        sys.path.insert(0, os.path.join(source, "tools"))
        import plot_report
    except ImportError:
        print("skipped: the summary figure (no matplotlib)")
    else:
        check(plot_report.verdict_reason(general) == general["verdict_reason"], "the summary figure shows the reason")
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
