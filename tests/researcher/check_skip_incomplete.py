#!/usr/bin/python3
"""analyze --skip-incomplete on a live series (docs/formats.md §4): a folder
without its model file yet, a checkpoint without the tensor, one whose data
is cut short, and one still being written while analyze starts are left out
and named in input.skipped; the report is otherwise that of the complete
checkpoints alone. Without the option the series is refused (exit 2).
usage: check_skip_incomplete.py LATDISP SOURCE_DIR WORKDIR RANKS MPIEXEC [FLAGS...]"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import strided_series  # noqa: E402
from compare_reports import differences, drop  # noqa: E402
from safetensors_writer import write_safetensors  # noqa: E402

failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def main():
    latdisp, source, work, ranks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    mpiexec = sys.argv[5:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    bits = strided_series.trajectory_bits()[:6]
    strided_series.write_series("complete", bits)
    shutil.copytree("complete", "live")
    os.makedirs("live/checkpoint-400")                                         # being created
    os.makedirs("live/checkpoint-425")
    write_safetensors("live/checkpoint-425/model.safetensors", [("other", "BF16", bits[0])])  # no such tensor
    write_safetensors("cut.safetensors", [("emb", "BF16", bits[1])])
    blob = open("cut.safetensors", "rb").read()
    os.makedirs("live/checkpoint-450")
    open("live/checkpoint-450/model.safetensors", "wb").write(blob[:len(blob) - 10])  # data cut short
    os.makedirs("live/checkpoint-475")
    # Still being written: the full header at once, the data a few bytes at a time while analyze starts.
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "blob = open('cut.safetensors', 'rb').read()\n"
        "with open('live/checkpoint-475/model.safetensors', 'wb', buffering=0) as f:\n"
        "    for i in range(0, len(blob), 2):\n"
        "        f.write(blob[i:i + 2]); time.sleep(0.2)\n")])
    time.sleep(0.5)
    run = mpiexec + ["-np", ranks, latdisp, "analyze", "--progress-seconds", "0", "--dataset", "emb"]
    refused = subprocess.run(run + ["--input", "live"], capture_output=True, text=True, timeout=120)
    check(refused.returncode == 2, f"without --skip-incomplete the live series is refused (exit {refused.returncode})")
    done = subprocess.run(run + ["--input", "live", "--skip-incomplete", "--report", "live.json"],
                          capture_output=True, text=True, timeout=120)
    check(done.returncode == 0, f"--skip-incomplete analyzes the complete checkpoints (exit {done.returncode})")
    writer.kill()
    subprocess.run(run + ["--input", "complete", "--report", "complete.json"], capture_output=True, timeout=120)
    got, want = json.load(open("live.json")), json.load(open("complete.json"))
    skipped = got["input"]["skipped"]
    for name in ("checkpoint-400", "checkpoint-425", "checkpoint-450", "checkpoint-475"):
        check(sum(f"live/{name}" in entry for entry in skipped) == 1, f"input.skipped names {name}")
    check(len(skipped) == 4, f"input.skipped holds exactly the four incomplete checkpoints: {skipped}")
    check(all(f"skipped (incomplete) {entry}" in done.stdout for entry in skipped), "the text report names them")
    for report in (got, want):
        for key in ("run", "input/path", "input/skipped"):
            drop(report, key)
    found = list(differences(want, got))
    print("\n".join(found[:10]))
    check(not found, "the report equals that of the complete checkpoints alone")
    print(f"{len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
