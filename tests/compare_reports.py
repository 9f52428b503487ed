#!/usr/bin/env python3
"""Exit 0 if every JSON report given has the same content as the first,
outside the "run" section (timings, ranks, memory); else print where they differ.
--ignore KEY/PATH (repeatable, e.g. --ignore input/path) leaves out more."""
import json
import sys


def differences(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                yield f"{path}/{key}: present in only one report"
            else:
                yield from differences(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield f"{path}: {a!r} != {b!r}"


def drop(report, key_path):
    *parents, last = key_path.split("/")
    for key in parents:
        report = report.get(key, {})
    report.pop(last, None)


def main(arguments):
    ignored, paths = ["run"], []
    while arguments:
        argument = arguments.pop(0)
        if argument == "--ignore":
            ignored.append(arguments.pop(0))
        else:
            paths.append(argument)
    reports = []
    for path in paths:
        with open(path) as f:
            report = json.load(f)
        for key_path in ignored:
            drop(report, key_path)
        reports.append(report)
    failed = False
    for path, report in zip(paths[1:], reports[1:]):
        found = list(differences(reports[0], report))
        for line in found[:20]:
            print(f"{paths[0]} vs {path}: {line}")
        failed = failed or bool(found)
    outside = ", ".join(f"'{k}'" for k in ignored)
    print("reports differ" if failed else f"{len(paths)} reports agree outside {outside}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
