#!/usr/bin/python3
"""Check latdisp's motion outputs against tests/reference/motion_oracle.py.

usage: check_motion.py ORACLE.json REPORT.json [--per-token FILE ...] [--series SERIES.csv]

- the report's "motion" section equals the oracle's, key by key, exactly (integers
  stay integers, the hop radius is the same double, nulls where the oracle has them);
- each per-token file (.csv, .h5 or .safetensors, read back here with csv, h5py and a
  small safetensors reader of this file) holds the oracle's columns, in order, exactly;
- the series CSV has the documented header, one row per transition, and columns equal
  to the report's per-step series (and the regime columns to the oracle's).
Prints every mismatch; exit status 1 if any."""
import argparse
import csv
import json
import math
import struct
import sys

import h5py
import numpy as np

COLUMNS = ["token", "dead", "moved", "hops", "thermal", "frozen", "nonfinite_rows", "first_moved", "last_moved",
           "crossings", "non_integer", "half", "max_magnitude", "final_frozen_run"]
SERIES_KEYS = ["exact", "almost", "half", "non_integer", "nonfinite", "moved", "crossed", "mean", "max", "frozen",
               "hop", "thermal", "sign_change", "from_zero", "to_zero"]
DTYPES = {"I64": "<i8", "F64": "<f8", "BOOL": "?"}


def same(a, b):
    """Exact equality that tells 1 from 1.0 and treats NaN/None alike as 'no value'."""
    if isinstance(a, float) and math.isnan(a):
        a = None
    if isinstance(b, float) and math.isnan(b):
        b = None
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return int(a) == int(b)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b


def compare(got, want, path, problems):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            problems.append(f"{path}: not an object")
            return
        for key in want:
            if key not in got:
                problems.append(f"{path}.{key}: missing")
            else:
                compare(got[key], want[key], f"{path}.{key}", problems)
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            problems.append(f"{path}: list length {len(got) if isinstance(got, list) else '-'} != {len(want)}")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            compare(g, w, f"{path}[{i}]", problems)
    elif not same(got, want):
        problems.append(f"{path}: {got!r} != {want!r}")


def read_safetensors(path):
    """{name: numpy array} of a safetensors file, checking that the tensors tile the data area."""
    with open(path, "rb") as f:
        blob = f.read()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    header.pop("__metadata__", None)
    data = blob[8 + length:]
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    covered = 0
    for begin, end in spans:
        assert begin == covered, f"{path}: a hole or an overlap at data byte {begin}"
        covered = end
    assert covered == len(data), f"{path}: {len(data) - covered} bytes after the last tensor"
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors, list(header)


def per_token_columns(path):
    """(column names in file order, {name: list of python values})."""
    if path.endswith(".csv"):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        names, body = rows[0], rows[1:]
        columns = {}
        for i, name in enumerate(names):
            cells = [row[i] for row in body]
            if name == "max_magnitude":
                columns[name] = [None if c == "" else float(c) for c in cells]
            else:
                columns[name] = [int(c) for c in cells]
        return names, columns
    if path.endswith(".h5"):
        with h5py.File(path, "r") as f:
            names = list(f.keys())
            return names, {name: f[name][...].tolist() for name in names}
    tensors, order = read_safetensors(path)
    return order, {name: array.tolist() for name, array in tensors.items()}


def check_per_token(path, oracle, problems):
    names, columns = per_token_columns(path)
    want = oracle["per_token"]
    expected_names = COLUMNS if path.endswith((".csv", ".safetensors")) else sorted(COLUMNS)
    if names != expected_names:
        problems.append(f"{path}: columns {names} != {expected_names}")
    for name in COLUMNS:
        got = columns.get(name)
        if got is None:
            problems.append(f"{path}: no column {name}")
            continue
        if name == "dead":
            got = [int(v) for v in got]
        compare(got, want[name], f"{path}:{name}", problems)


def check_series(path, report, oracle, problems):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    expected = ["step", "from_step", "to_step"] + [f"{p}.{k}" for p in ("all", "live", "dead") for k in SERIES_KEYS]
    if header != expected:
        problems.append(f"{path}: header {header} != {expected}")
        return
    column = {name: [row[i] for row in body] for i, name in enumerate(header)}
    steps = report["input"]["shape"][0] - 1
    known = report["input"].get("steps")
    compare([int(v) for v in column["step"]], list(range(steps)), f"{path}:step", problems)
    compare([int(v) for v in column["from_step"]], known[:-1] if known else list(range(steps)), f"{path}:from",
            problems)
    compare([int(v) for v in column["to_step"]], known[1:] if known else list(range(1, steps + 1)), f"{path}:to",
            problems)
    for population in ("all", "live", "dead"):
        def block(section):
            return report[section] if population == "all" else report[section][population]
        want = dict(block("displacement")["per_step"])
        want["crossed"] = block("crossings")["per_step"]
        want["mean"] = block("magnitude")["per_step"]["mean"]
        want["max"] = block("magnitude")["per_step"]["max"]
        motion = oracle["motion"] if population == "all" else oracle["motion"][population]
        for key in ("frozen", "hop", "thermal"):
            want[key] = motion["per_step"][key]
        for key in ("sign_change", "from_zero", "to_zero"):  # the report's (tests/researcher/check_near_zero.py)
            want[key] = block("near_zero")["per_step"][key]
        for key in SERIES_KEYS:
            cells = column[f"{population}.{key}"]
            got = [(None if c == "" else float(c)) for c in cells] if key in ("mean", "max") else [int(c) for c in cells]
            compare(got, want[key], f"{path}:{population}.{key}", problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("oracle")
    parser.add_argument("report")
    parser.add_argument("--per-token", nargs="*", default=[])
    parser.add_argument("--series")
    args = parser.parse_args()
    with open(args.oracle) as f:
        oracle = json.load(f)
    with open(args.report) as f:
        report = json.load(f)
    problems = []
    compare(report.get("motion"), oracle["motion"], "motion", problems)
    for path in args.per_token:
        check_per_token(path, oracle, problems)
    if args.series:
        check_series(args.series, report, oracle, problems)
    for line in problems[:30]:
        print("MISMATCH", line)
    if problems:
        print(f"{len(problems)} mismatch(es): {args.report}")
        return 1
    print(f"OK: {args.report} {' '.join(args.per_token)} {args.series or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
