#!/usr/bin/python3
"""Compare a latdisp analyze JSON report with the output of tools/reference_analyze.py.

usage: compare_with_reference.py REPORT.json REFERENCE.json

Every key present in the reference is compared with the report, recursively and exactly:
numbers must be equal (floats bit-identical, an integer and a float of equal value count as
a kind mismatch), strings/null/booleans equal, lists of equal length.  The "run" section and
keys absent from the reference are ignored.  Prints every mismatch with its JSON path;
exit status 1 if any, 0 otherwise.
"""
import json
import struct
import sys


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same_number(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return struct.pack("<d", float(a)) == struct.pack("<d", float(b))
    return a == b


def compare(rep, ref, path, out):
    if isinstance(ref, dict):
        if not isinstance(rep, dict):
            out.append((path, rep, ref, "not an object"))
            return
        for k, v in ref.items():
            if path == "" and k == "run":
                continue
            p = f"{path}.{k}" if path else k
            if k not in rep:
                out.append((p, "<missing>", v, "missing key"))
            else:
                compare(rep[k], v, p, out)
    elif isinstance(ref, list):
        if not isinstance(rep, list) or len(rep) != len(ref):
            out.append((path, rep, ref, "list length"))
            return
        for i, (a, b) in enumerate(zip(rep, ref)):
            compare(a, b, f"{path}[{i}]", out)
    elif is_num(ref):
        if not is_num(rep):
            out.append((path, rep, ref, "type"))
        elif not same_number(rep, ref):
            out.append((path, rep, ref, "value"))
        elif isinstance(rep, float) != isinstance(ref, float):
            out.append((path, rep, ref, "int/float kind"))
    else:
        if type(rep) is not type(ref) or rep != ref:
            out.append((path, rep, ref, "value"))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        rep = json.load(f)
    with open(sys.argv[2]) as f:
        ref = json.load(f)
    out = []
    compare(rep, ref, "", out)
    for path, a, b, why in out:
        ra, rb = (repr(a) if not isinstance(a, (dict, list)) else json.dumps(a)[:200],
                  repr(b) if not isinstance(b, (dict, list)) else json.dumps(b)[:200])
        print(f"MISMATCH {path}: report={ra} reference={rb} ({why})")
    if out:
        print(f"{len(out)} mismatch(es)")
        return 1
    print("OK: report matches reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
