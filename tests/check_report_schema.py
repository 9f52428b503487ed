#!/usr/bin/python3
"""Every JSON report latdisp writes, and the exact reference's, against docs/report.schema.json.

On small generated inputs: analyze of every element format (with and without a dead mask,
--output in both file formats, the seed arithmetic, a checkpoint directory, training step
numbers), blackholes of one matrix and over the steps of a trajectory with groups that form
and break, optimizer (a learning rate from a dataset and from the option), survey (with and
without a tokenizer and --compare), inspect --json and separation --json; three of the runs at
2 ranks. And tools/reference_analyze.py's report, which leaves out the keys its docstring
names: exactly those may be missing, nothing else may differ.

The schema must be able to fail: on one report of every command each key renamed, each key
removed (except the optional ones) and each scalar given another type must be rejected. And the
inputs must reach the schema's branches: the lists of groups, members and mismatches are not
empty, the nullable sections appear both null and not. The phases of blackholes and survey
follow their documented order and add up to their wall time.

usage: check_report_schema.py LATDISP SOURCE_DIR WORKDIR MPIEXEC..."""
import concurrent.futures
import functools
import json
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from json_schema_subset import Validator, format_errors  # noqa: E402

LATDISP, SOURCE, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MPIEXEC = sys.argv[4:]
FORMATS = ["bf16", "f16", "f32", "f8e4m3", "f8e5m2"]
os.makedirs(WORK, exist_ok=True)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def latdisp(*args, ranks=1):
    command = MPIEXEC + ["-np", str(ranks), LATDISP] + [str(a) for a in args]
    done = subprocess.run(command, capture_output=True, timeout=120, cwd=WORK)
    if done.returncode != 0:
        print(done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
        raise SystemExit(f"latdisp {' '.join(map(str, args))}: exit {done.returncode}")
    return done.stdout.decode()


def path(name):
    return os.path.join(WORK, name)


def load(name):
    with open(path(name)) as f:
        return json.load(f)


# ---------------------------------------------------------------- inputs and reports
def analyze_reports(fmt):
    """analyze of one element format, in a variant that reaches a branch of the schema; for bf16
    and f8e4m3 also the exact reference's report of the same input."""
    latdisp("generate", "--output", f"t_{fmt}.h5", "--steps", 4, "--tokens", 12, "--dims", 8, "--special",
            "--element-type", fmt, "--seed", 3, "--overwrite")
    extra = []
    if fmt == "bf16":
        extra = ["--output", "out_bf16.h5", "--checkpoint-dir", "checkpoints"]
    elif fmt == "f32":
        extra = ["--dead-mask", "no_such_mask"]
    elif fmt == "f8e4m3":
        with h5py.File(path(f"t_{fmt}.h5"), "a") as f:
            f.create_dataset("steps", data=np.array([100, 200, 300, 400], dtype=np.int64))
    latdisp("analyze", "--input", f"t_{fmt}.h5", "--report", f"analyze_{fmt}.json", "--overwrite", *extra)
    reports = {f"analyze {fmt}": load(f"analyze_{fmt}.json")}
    if fmt == "bf16":
        latdisp("analyze", "--input", "t_bf16.h5", "--arithmetic", "seed", "--output", "out_seed.safetensors",
                "--report", "analyze_seed.json", "--overwrite", ranks=2)
        reports["analyze bf16 seed"] = load("analyze_seed.json")
    if fmt in ("bf16", "f8e4m3"):
        subprocess.run([sys.executable, os.path.join(SOURCE, "tools", "reference_analyze.py"), path(f"t_{fmt}.h5"),
                        "--output", path(f"reference_{fmt}.json")], check=True, timeout=120)
        reports[f"reference {fmt}"] = load(f"reference_{fmt}.json")
    return reports


def trajectory_with_groups():
    """Rows 1, 4, 7 identical from the start, 7 leaving at step 2; rows 2, 3 identical from step 3."""
    rng = np.random.default_rng(7)
    W = rng.integers(0x3C00, 0x3F00, size=(4, 10, 4)).astype(np.uint16)
    W[:, 4] = W[:, 1]
    W[:2, 7] = W[:2, 1]
    W[3, 3] = W[3, 2]
    with h5py.File(path("groups.h5"), "w") as f:
        f.create_dataset("W", data=W)
        f.create_dataset("dead_mask", data=np.array([0, 0, 0, 0, 1, 0, 0, 1, 0, 0], dtype=np.uint8))
        f.create_dataset("steps", data=np.array([0, 10, 20, 30], dtype=np.int64))


def demo_matrix(name):
    latdisp("generate", "--matrix", "--output", name, "--tokens", 64, "--dims", 8, "--planted-groups", 3,
            "--group-size", 4, "--overwrite")


def trajectory_reports():
    trajectory_with_groups()
    latdisp("blackholes", "--matrix", "groups.h5", "--steps", "all", "--report", "blackholes_steps.json",
            "--output", "steps_groups.h5", "--series-csv", "blackholes.csv", "--overwrite", ranks=2)
    return {"blackholes over steps": load("blackholes_steps.json")}


def bit_level_reports():
    demo_matrix("matrix.safetensors")
    latdisp("blackholes", "--matrix", "matrix.safetensors", "--report", "blackholes_one.json", "--output",
            "groups.safetensors", "--overwrite")
    inspect = latdisp("inspect", "--matrix", "matrix.safetensors", "--groups", "groups.safetensors", "--dims",
                      "0,5", "--json")
    separation = latdisp("separation", "--matrix", "matrix.safetensors", "--groups", "groups.safetensors",
                         "--json")
    return {"blackholes one matrix": load("blackholes_one.json"), "inspect": json.loads(inspect), "separation": json.loads(separation)}


def survey_reports():
    vocab = {f"t{i}": i for i in range(40)}
    tokenizer = {"version": "1.0", "added_tokens": [{"id": 40, "content": "<s>", "special": True}],
                 "model": {"type": "BPE", "vocab": vocab, "merges": []}}
    with open(path("tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    demo_matrix("survey_matrix.safetensors")
    latdisp("survey", "--model", "survey_matrix.safetensors", "--tensor", "W", "--tokenizer", "tokenizer.json",
            "--compare", "survey_matrix.safetensors", "--report", "survey_full.json", "--overwrite")
    latdisp("survey", "--model", "survey_matrix.safetensors", "--tensor", "W", "--report", "survey_plain.json",
            "--overwrite")
    return {"survey with tokenizer and compare": load("survey_full.json"), "survey": load("survey_plain.json")}


def optimizer_reports():
    rng = np.random.default_rng(3)
    S, N, D = 4, 6, 4
    with h5py.File(path("run.h5"), "w") as f:
        for name in ("W", "grad_W", "momentum_W", "variance_W"):
            f.create_dataset(name, data=rng.integers(0x3C00, 0x3F00, size=(S, N, D)).astype(np.uint16))
        f.create_dataset("lr", data=np.full(S, 1e-3))
        f.create_dataset("dead_mask", data=np.array([0, 1, 0, 0, 0, 1], dtype=np.uint8))
        f.create_dataset("steps", data=np.arange(S, dtype=np.int64) + 5)
    latdisp("optimizer", "--input", "run.h5", "--report", "optimizer_dataset.json", "--overwrite")
    latdisp("optimizer", "--input", "run.h5", "--lr", "0.001", "--report", "optimizer_option.json", "--overwrite",
            ranks=2)
    return {"optimizer (lr dataset)": load("optimizer_dataset.json"),
            "optimizer (lr option)": load("optimizer_option.json")}


# ---------------------------------------------------------------- checks
def check_valid(validator, name, report):
    errors = validator.errors(report)
    check(not errors, f"{name}: the report breaks docs/report.schema.json:\n{format_errors(errors)}")


def check_reaches_branches(r):
    """The inputs are built to reach these branches; without them a broken item schema could pass."""
    a = r["analyze bf16"]
    check("output" in a and r["analyze bf16 seed"]["output"]["format"] == "safetensors" and "output" not in
          r["analyze f16"], "analyze: output sections present and not")
    check(a["run"]["checkpoint"] is not None and r["analyze f16"]["run"]["checkpoint"] is None,
          "analyze: checkpoint null and not")
    check(r["analyze f32"]["input"]["dead_mask"] is None and a["input"]["dead_mask"] is not None,
          "analyze: dead_mask null and not")
    check(r["analyze f8e4m3"]["input"]["steps"] and a["input"]["steps"] is None, "analyze: steps null and not")
    check(r["analyze f16"]["displacement"]["arithmetic_disagreements"] is None
          and a["displacement"]["arithmetic_disagreements"] is not None, "analyze: disagreements null and not")
    steps = r["blackholes over steps"]
    check(steps["final_groups"] and steps["initial_groups"] and steps["initial_groups"][0]["members"]
          and any(m["left_at"] is not None for g in steps["initial_groups"] for m in g["members"])
          and any(m["left_at"] is None for g in steps["initial_groups"] for m in g["members"]),
          "blackholes over steps: groups that form and members that leave")
    check(r["blackholes one matrix"]["groups"], "blackholes one matrix: groups")
    check(r["optimizer (lr dataset)"]["replay"]["first_mismatches"], "optimizer: first mismatches")
    check("steps" in r["optimizer (lr dataset)"]["input"], "optimizer: steps")
    full = r["survey with tokenizer and compare"]
    check(full["tokenizer"] is not None and full["compare"] is not None and full["groups"]
          and full["groups"][0]["strings"] is not None and r["survey"]["tokenizer"] is None,
          "survey: tokenizer and compare null and not")
    check(r["inspect"]["dims"] and r["inspect"]["dims"][0]["pairs"], "inspect: dims and pairs")
    check(r["separation"]["pairs"] and r["separation"]["histogram"], "separation: pairs and histogram")
    two_ranks = (r["analyze bf16 seed"]["run"], r["blackholes over steps"]["run"], r["optimizer (lr option)"]["run"])
    check(all(run["ranks"] == 2 and len(run["peak_rss_bytes"]) == 2 for run in two_ranks), "runs at 2 ranks")


# Where time went (docs/report.md §13, §15): each command's phases in order, adding up to `wall`.
PHASES = {
    "blackholes": ["startup", "init", "open", "read", "search", "track", "reduce", "write"],
    "survey": ["startup", "init", "open", "first_pass", "gather", "group", "share", "distance_pass", "pairs",
               "reduce", "write"],
}


def check_phases_add_up(r):
    timings = {"blackholes over steps": (r["blackholes over steps"]["run"]["timings_s"], "blackholes"),
               "blackholes one matrix": (r["blackholes one matrix"]["run"]["timings_s"], "blackholes"),
               "survey": (r["survey with tokenizer and compare"]["timing"]["timings_s"], "survey")}
    for name, (t, command) in timings.items():
        phases = t["phases"]
        check([p["phase"] for p in phases] == PHASES[command], f"{name}: the phases {[p['phase'] for p in phases]}")
        added = sum(p["rank_0"] for p in phases)
        check(t["wall"] > 0 and abs(added - t["wall"]) <= 1e-9 * t["wall"],
              f"{name}: the phases add up to {added} s, not wall {t['wall']} s")
        check(all(p["rank_0"] <= p["max"] <= p["sum"] for p in phases), f"{name}: rank 0 <= max <= sum")


# Keys a report may leave out (docs/report.md §9, docs/optimizer.md §6), as (object path, key);
# separation's histograms are maps whose entries are data, not keys.
OPTIONAL_KEYS = {"latdisp.analyze/1": {("", "output")}, "latdisp.optimizer/1": {("/input", "steps")}}


def is_data_map(path):
    return path.endswith("/histogram") and "/pairs/" in path or path == "/histogram"


def mutations(node, optional, path=""):
    """(what, mutate) for every key of every object below node, every scalar leaf; not inside
    `live` and `dead`, which hold the same keys under the same schema as the section around them."""
    if isinstance(node, dict):
        for key in list(node):
            if key in ("live", "dead") and isinstance(node[key], dict):
                yield f"{path}/{key} renamed", (node, key, "rename")
                yield f"{path}/{key} removed", (node, key, "remove")
                continue
            yield f"{path}/{key} renamed", (node, key, "rename")
            if (path, key) not in optional and not is_data_map(path):
                yield f"{path}/{key} removed", (node, key, "remove")
            value = node[key]
            if not isinstance(value, (dict, list)):
                yield f"{path}/{key} of another type", (node, key, "retype")
            yield from mutations(value, optional, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node[:1]):  # the first item stands for the rest
            yield from mutations(value, optional, f"{path}/{i}")


def retyped(value):
    if value is None:
        return {"retyped": True}
    if isinstance(value, bool):
        return "x"
    if isinstance(value, (int, float)):
        return str(value)
    return 1


def branch_of(validator, report):
    """The schema's branch for this report (by its "schema" constant): a mutation need not try all."""
    for branch in validator.root["oneOf"]:
        resolved = validator.resolve(branch["$ref"])
        if resolved["properties"]["schema"].get("const") == report["schema"]:
            return resolved
    raise SystemExit(f"no branch of the schema for {report['schema']}")


def check_mutations_fail(validator, name, report):
    """A renamed, a missing and a retyped key must each be rejected: the schema can fail."""
    branch = branch_of(validator, report)
    passed = []
    count = 0
    for what, (node, key, how) in mutations(report, OPTIONAL_KEYS.get(report["schema"], set())):
        value = node[key]
        keys = list(node)
        if how == "rename":
            node[key + "_renamed"] = node.pop(key)
        elif how == "remove":
            del node[key]
        else:
            node[key] = retyped(value)
        if not validator.errors(report, branch):
            passed.append(what)
        count += 1
        node.pop(key + "_renamed", None)
        node[key] = value
        for k in keys:  # restore the order
            node[k] = node.pop(k)
    check(not passed, f"{name}: {len(passed)} of {count} mutations passed the schema: {passed[:10]}")
    return count


# The keys tools/reference_analyze.py leaves out (its docstring): (object path without live/dead, key).
REFERENCE_OMITS = {("", "run"), ("", "motion"), ("", "near_zero"), ("/input", "format"), ("/input", "skipped"), ("/input", "steps"),
                   ("/displacement", "arithmetic_disagreements"),
                   ("/displacement", "arithmetic_disagreement_causes"),
                   ("/displacement", "notebook_symmetric_dtype"), ("/displacement", "verdict_reason")}


def check_reference(validator, name, report, omits):
    """Only the documented omissions are missing; every key present is in the schema, of its type."""
    missing, other = set(), []
    for path, kind, message in validator.errors(report):
        if kind == "oneOf" and path == "":
            continue  # the header of the closest branch's errors
        parent, _, key = path.replace("/live", "").replace("/dead", "").rpartition("/")
        if kind == "required" and (parent, key) in omits:
            missing.add((parent, key))
        else:
            other.append((path, kind, message))
    check(not other, f"{name}: breaks the schema beyond its documented omissions:\n{format_errors(other)}")
    check(missing == omits, f"{name}: the omissions changed (update REFERENCE_OMITS and the "
          f"reference's docstring): no longer missing {sorted(omits - missing)}")


def all_reports():
    """Every report, four commands at a time: a run of latdisp this small waits more than it
    computes (the tasks write different files)."""
    tasks = [bit_level_reports, survey_reports, trajectory_reports, optimizer_reports]
    tasks += [functools.partial(analyze_reports, fmt) for fmt in FORMATS]
    reports = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for result in pool.map(lambda task: task(), tasks):
            reports.update(result)
    references = {name: reports.pop(name) for name in list(reports) if name.startswith("reference")}
    return reports, references


def main():
    with open(os.path.join(SOURCE, "docs", "report.schema.json")) as f:
        validator = Validator(json.load(f))
    reports, references = all_reports()
    for name, report in reports.items():
        check_valid(validator, name, report)
    check_reaches_branches(reports)
    check_phases_add_up(reports)
    mutated = 0
    for name in ("analyze bf16", "blackholes over steps", "blackholes one matrix",
                 "optimizer (lr dataset)", "survey with tokenizer and compare", "inspect", "separation"):
        mutated += check_mutations_fail(validator, name, reports[name])
    for name, report in references.items():
        # Other formats than bf16 have arithmetic_disagreements: null (docs/report.md §5).
        bf16_only = {("/displacement", "arithmetic_disagreements")} if not name.endswith("bf16") else set()
        check_reference(validator, name, report, REFERENCE_OMITS - bf16_only)
    print(f"{len(reports)} latdisp reports and {len(references)} reference reports checked, "
          f"{mutated} mutations rejected; {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
