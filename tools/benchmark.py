#!/usr/bin/python3
"""latdisp benchmark: for each trajectory shape, time a plain sequential read of
the file (`cat FILE > /dev/null`, after its pages are dropped from the page cache
and read back once, so the file is cached afresh like latdisp's input, the same
way for every file), then analyze it at each rank count and
arithmetic, and report latdisp's time as a multiple of that plain read (beside
the start floor, `mpirun -np RANKS latdisp --version`: the least any run takes), the
per-phase times of rank 0 (read, compute, reduce, write), the CPU seconds of all
processes, where time went (every phase of the report's timings_s.phases, from the
process's start on, and the wall time outside them), coordinates/s and the
peak resident memory of every rank, and the share of the memory-bandwidth
ceiling (build/latdisp_stream_probe, two bytes of W per coordinate); then the
cost of saving the tensors (--output, HDF5 and safetensors) in MB/s.

usage: tools/benchmark.py [--notebook] [--trained] [--shape S N D ...] [--ranks 1 2]
                          [--arithmetic exact seed] [--element-type bf16 f16 f32 f8e4m3 f8e5m2]
                          [--memory-budget 2GiB] [--no-save]
                          [--build build] [--latdisp build/latdisp] [--out bench]

The default is one small file (W[401, 10000, 64], 0.5 GB: a minute or two).
--notebook adds the notebook's shape, W[6001, 10000, 64] (7.68 GB; generating it
takes minutes, and the page cache must hold it); --shape adds any other. --trained adds a
bf16 trajectory recorded from a real AdamW training run, W[401, 8192, 64]
(tools/trained_trajectory.py; needs torch, about 15 s to record): the synthetic files spread
each step over about 31 binades and move every coordinate, a trained embedding does neither,
and a kernel change can win on one and lose on the other.
--element-type: the formats to measure (default bf16): one generated file per format and
shape (generate --element-type), each against a plain read of its own bytes, and each
format's ratio over bf16's (also above the start floor, and round by round: median and
range of each round's ratio, runs seconds apart); the kernel's share of the plain loop on each format's block
(build/latdisp_plain_loop). The seed arithmetic and --output are bf16's only.
Writes benchmark.md, benchmark.csv and the JSON reports to --out.

--survey instead times latdisp survey on a synthetic bf16 embedding (--survey-shape ROWS DIMS
GROUPS, default 151936 x 2560 with 64 planted groups, 0.78 GB) at each rank count: the wall
time over a plain read of its file, rows compared per second, the distance kernel's lattice
comparisons per second and where time went (benchmark_survey.md / .csv)."""
import argparse
import csv
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SMALL = (401, 10000, 64)
LOOP_SHAPE = (65, 4096, 64)  # tools/kernel_check's default block


def cpu_model():
    """The CPU every figure was measured on: /proc/cpuinfo's model name, cpu family and CPU count."""
    fields, processors = {}, 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                processors += key == "processor"
                fields.setdefault(key, value.strip())
    except OSError:
        return "unknown CPU"
    count = processors or os.cpu_count()
    return f"{fields.get('model name', 'unknown CPU')} (cpu family {fields.get('cpu family', '?')}, {count} cores)"


def kernel_share_rows(args, env):
    """The kernel's rate as a share of the plain loop's, per element type: build/latdisp_plain_loop
    times both on the same in-memory block of that format, interleaved in one process (thread CPU
    time, best of --loop-repeats), so that the share holds on a shared machine too."""
    shape = tuple(args.loop_shape)
    loop = os.path.join(args.build, "latdisp_plain_loop")
    if not os.path.exists(loop):
        return [{"shape": "x".join(map(str, shape)), "element_type": t, "kernel_coordinates_per_s": "",
                 "loop_coordinates_per_s": "", "kernel_share": "", "near_zero_share": "", "note": f"not built: {loop}", "cpu": args.cpu}
                for t in args.element_type]
    output = run([loop, *map(str, shape), str(args.loop_repeats), *args.element_type], env)
    rows = []
    for line in output.splitlines():
        measured = json.loads(line)
        rows.append({"shape": "x".join(map(str, shape)), "element_type": measured["element_type"],
                     "kernel_coordinates_per_s": f"{measured['kernel_coordinates_per_s']:.3g}",
                     "loop_coordinates_per_s": f"{measured['coordinates_per_s']:.3g}",
                     "kernel_share": f"{100 * measured['kernel_share']:.1f}%",
                     "near_zero_share": (f"{100 * measured['kernel_near_zero_share']:.1f}%"
                                         if "kernel_near_zero_share" in measured else ""),
                     "note": measured["timing"],
                     "cpu": args.cpu})
    return rows


def cores_together(args, env):
    """The plain loop's speed on as many cores at once as the most ranks measured, each as a share
    of its speed alone (None where there is one core or no loop): on a virtual or shared machine
    the cores may not run at full speed together (hyperthreads of one core, or the host's other
    guests), and then the figures at more ranks say as much about the machine as about latdisp.
    On this project's machine the share was 100% at one hour and 60-75% at the next."""
    loop = os.path.join(args.build, "latdisp_plain_loop")
    cores = min(max(args.ranks), os.cpu_count() or 1)
    if cores < 2 or not os.path.exists(loop):
        return None
    command = [loop, "33", "4096", "64", "3", "bf16"]

    def loop_rate(output):
        return json.loads(output.splitlines()[-1])["coordinates_per_s"]

    alone = loop_rate(run(command, env))
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for _ in range(cores)]
    together = [loop_rate(p.communicate()[0]) for p in processes]
    return f"{cores} at once: " + ", ".join(f"{100 * t / alone:.0f}%" for t in together) + " of one alone"


def median_and_range(values):
    """'median (least-greatest)' of a few ratios, two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def format_summary(rows):
    """Per element type: its wall / read (its best run's) and that ratio over bf16's (the formats'
    target: within 1.5x of bf16's ratio to a plain read of its own bytes); beside them the same
    above the start floor, (wall - floor) / read: the floor is the same for every format while an
    FP8 file reads in about half bf16's time, so on a small file the floor alone pulls FP8's ratio
    over bf16's towards the two reads' ratio (about 1.8), whatever the analysis costs. And the ratio
    over bf16's round by round (each format's run over that round's read of its file, against
    bf16's of the same round): the formats of a round run within seconds of each other, so these
    ratios are spared most of a shared machine's drift, which moves the bests of different
    rounds."""
    exact = {(row["shape"], row["ranks"], row["element_type"]): row for row in rows if row["arithmetic"] == "exact"}
    lines = []
    for (shape, ranks, element_type), row in sorted(exact.items()):
        bf16 = exact.get((shape, ranks, "bf16"))
        over = (lambda field: "") if bf16 is None else (lambda field: f"{row[field] / bf16[field]:.2f}")
        by_round = "" if bf16 is None else median_and_range(
            [own / reference for own, reference in zip(row["round_ratios"], bf16["round_ratios"])])
        lines.append({"shape": shape, "ranks": ranks, "element_type": element_type,
                      "wall_per_read": row["wall_per_read"], "relative_to_bf16": over("wall_per_read"),
                      "above_floor_per_read": row["above_floor_per_read"],
                      "above_floor_relative_to_bf16": over("above_floor_per_read"), "relative_by_round": by_round,
                      "coordinates_per_s": row["coordinates_per_s"]})
    return lines


NOTEBOOK = (6001, 10000, 64)


def run(command, env):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"benchmark: {' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def timed(command, env):
    start = time.perf_counter()
    run(command, env)
    return time.perf_counter() - start


def settle_page_cache(path):
    """Drops the file's pages from the page cache (after writing back any dirty ones) and reads it
    back once, so that it is cached afresh. How a file sits in the page cache changes how fast it reads: on
    this project's Linux 6.18 machine a file cached hours earlier read in 0.063 s where the same
    file cached afresh read in 0.03 s (large folios split over time), and latdisp's read of it
    slows likewise. Without this, each format's file would be timed in whatever state earlier work
    left it, and the formats' ratios would compare those states more than latdisp."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass  # a file system without the advice: the file stays as it is cached
    finally:
        os.close(fd)
    cat_seconds(path)


def plain_read_seconds(path, repeats):
    """Best of `repeats` sequential reads of the whole file, after its pages were dropped and read
    back once (settle_page_cache), so that every file is timed cached the same way."""
    settle_page_cache(path)
    return min(cat_seconds(path) for _ in range(repeats))


def cat_seconds(path):
    """One sequential read of the whole file (cat to /dev/null)."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        subprocess.run(["cat", path], stdout=null, check=True)
        return time.perf_counter() - start


class Trained(tuple):
    """A shape whose bf16 trajectory is recorded from a training run (tools/trained_trajectory.py)."""


TRAINED = Trained((401, 8192, 64))


def shape_name(shape):
    return "x".join(map(str, shape)) + (" trained" if isinstance(shape, Trained) else "")


def report_file(args, shape, what):
    """A report of one shape's runs in --out: report_<shape>_<what>.json."""
    return os.path.join(args.out, f"report_{shape_name(shape).replace(' ', '_')}_{what}.json")


def trained_trajectory(args):
    """The --trained file (recorded once, then kept in --out), or None without torch."""
    steps, tokens, dims = TRAINED
    path = os.path.join(args.out, f"bench_trained_{steps}x{tokens}x{dims}.h5")
    if os.path.exists(path):
        return path
    if importlib.util.find_spec("torch") is None:
        print("benchmark: --trained needs torch to record its run; skipped", file=sys.stderr)
        return None
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import trained_trajectory
    print(f"benchmark: recording a training run, W[{steps}, {tokens}, {dims}] of bf16 ...", file=sys.stderr)
    trained_trajectory.write(path, tokens, dims, steps - 1)
    return path


def shape_paths(args, env, shape):
    """Each --element-type's file of a shape (a trained shape: bf16's only, when torch records it)."""
    if not isinstance(shape, Trained):
        return {element_type: trajectory(args, env, shape, element_type) for element_type in args.element_type}
    if "bf16" not in args.element_type:
        print("benchmark: --trained records bf16 only; add bf16 to --element-type", file=sys.stderr)
        return {}
    path = trained_trajectory(args)
    return {"bf16": path} if path else {}


def trajectory(args, env, shape, element_type="bf16"):
    steps, tokens, dims = shape
    suffix = "" if element_type == "bf16" else f"_{element_type}"
    path = os.path.join(args.out, f"bench_{steps}x{tokens}x{dims}{suffix}.h5")
    if not os.path.exists(path):
        print(f"benchmark: generating W[{steps}, {tokens}, {dims}] of {element_type} ...", file=sys.stderr)
        run(args.mpirun + ["-np", str(max(args.ranks)), args.latdisp, "generate", "--output", path, "--steps",
                           str(steps), "--tokens", str(tokens), "--dims", str(dims), "--element-type", element_type],
            env)
    return path


def analyze(args, env, path, ranks, arithmetic, extra, report_path):
    """Best of --repeats runs by wall time: the report, the wall time and the CPU seconds of every
    process (mpirun and the ranks)."""
    best = None
    for _ in range(args.repeats):
        best = best_of(best, analyze_once(args, env, path, ranks, arithmetic, extra, report_path))
    return best


def analyze_once(args, env, path, ranks, arithmetic, extra, report_path):
    """One run: its report, its wall time and the CPU seconds of every process (mpirun and the ranks)."""
    cpu = children_cpu_seconds()
    wall = timed(args.mpirun + ["-np", str(ranks), args.latdisp, "analyze", "--input", path, "--arithmetic",
                                arithmetic, "--memory-budget", args.memory_budget, "--overwrite", "--report",
                                report_path, "--progress-seconds", "0"] + extra, env)
    cpu = children_cpu_seconds() - cpu
    with open(report_path) as f:
        return json.load(f), wall, cpu


def best_of(best, run):
    """The faster (by wall time) of two analyze_once results (best may be None)."""
    return run if best is None or run[1] < best[1] else best


def runs_of(args, formats):
    """The (format, ranks, arithmetic) runs to measure, in order."""
    return [(element_type, ranks, arithmetic) for element_type in formats for ranks in args.ranks
            for arithmetic in args.arithmetic if not (arithmetic == "seed" and element_type != "bf16")]


def measure_formats(args, env, shape, paths):
    """Every format's file of one shape measured in rounds, best of --repeats each: in each round,
    format by format, one plain read of its file, then one run at each rank count. On a shared
    machine whose speed drifts from minute to minute, each format is then timed at the same
    moments as the others, so their ratios compare like with like; each round also times the start
    floor at each rank count. Returns the best plain read of each format, the best run (report,
    wall, CPU) of each (format, ranks, arithmetic), the best start floor of each rank count and,
    round by round, each run's wall / read with that round's read (format_summary)."""
    reads, best, floors, rounds = {}, {}, {}, []
    for path in paths.values():
        settle_page_cache(path)
    for _ in range(args.repeats):
        rounds.append({})
        for ranks in args.ranks:
            floors[ranks] = min(floors.get(ranks, float("inf")), start_floor_seconds(args, env, ranks))
        for element_type, path in paths.items():
            read_s = cat_seconds(path)
            reads[element_type] = min(reads.get(element_type, float("inf")), read_s)
            for key in runs_of(args, [element_type]):
                _, ranks, arithmetic = key
                run_result = analyze_once(args, env, path, ranks, arithmetic, [], report_path_of(args, shape, key))
                best[key] = best_of(best.get(key), run_result)
                rounds[-1][key] = run_result[1] / read_s
    for key, (report, _, _) in best.items():  # the best run's report stays
        with open(report_path_of(args, shape, key), "w") as f:
            json.dump(report, f, indent=1)
    return reads, best, floors, rounds


def start_floor_seconds(args, env, ranks):
    """One `mpirun -np RANKS latdisp --version`: the ranks start (MPI, then Kokkos) and shut down
    and analyze nothing, so no run at that rank count can take less (docs/operations.md §10)."""
    return timed(args.mpirun + ["-np", str(ranks), args.latdisp, "--version"], env)


def report_path_of(args, shape, key):
    """Where a (format, ranks, arithmetic) run of one shape writes its report."""
    element_type, ranks, arithmetic = key
    return report_file(args, shape, f"{element_type}_np{ranks}_{arithmetic}")


def phase_row(row, timings, wall):
    """Where time went (docs/report.md §3): rank 0's seconds per phase, the slowest rank's in
    parentheses where it differs by 10 ms or more; `outside`: the wall time outside every phase
    (mpirun starting the ranks, the reports, the runtime's shutdown); the reading thread's busy
    time (rank 0 / the slowest rank). Empty for a report without phases (an older latdisp)."""
    phases = {"shape": row["shape"], "element_type": row["element_type"], "ranks": row["ranks"],
              "arithmetic": row["arithmetic"], "wall_s": row["wall_s"]}
    if "phases" not in timings:
        return phases
    phases["outside"] = f"{wall - timings['wall']:.3f}"
    for p in timings["phases"] + timings["concurrent"]:
        cell = f"{p['rank_0']:.3f}"
        if p["max"] - p["rank_0"] >= 0.01:
            cell += f" ({p['max']:.3f})"
        phases[p["phase"]] = cell
    return phases


def bandwidth_ceiling(args, env, ranks):
    """Coordinates/s that memory bandwidth allows (two bytes of W each), from latdisp_stream_probe."""
    probe = os.path.join(args.build, "latdisp_stream_probe")
    if not os.path.exists(probe):
        return None
    return json.loads(run(args.mpirun + ["-np", str(ranks), probe], env))["read_bytes_per_s"] / 2


def analysis_rows(args, env, shape, paths, reads, best, floors, rounds):
    """One row per (format, ranks, arithmetic) of one shape, from measure_formats' reads and runs."""
    coordinates = (shape[0] - 1) * shape[1] * shape[2]
    ceilings = {ranks: bandwidth_ceiling(args, env, ranks) for ranks in args.ranks}
    rows = []
    for key in runs_of(args, paths):
        element_type, ranks, arithmetic = key
        report, wall, cpu = best[key]
        path, read_s, ceiling = paths[element_type], reads[element_type], ceilings[ranks]
        run_section = report["run"]
        t = run_section["timings_s"]
        rows.append({
            "shape": shape_name(shape), "element_type": element_type,
            "file_gb": round(os.path.getsize(path) / 1e9, 3),
            "ranks": ranks, "arithmetic": arithmetic, "plain_read_s": round(read_s, 3),
            "wall_s": round(wall, 3), "wall_per_read": round(wall / read_s, 2),
            "start_floor_s": round(floors[ranks], 3), "floor_per_read": round(floors[ranks] / read_s, 2),
            "above_floor_per_read": round((wall - floors[ranks]) / read_s, 2),
            "round_ratios": [r[key] for r in rounds],
            "total_s": round(t["total"], 3), "total_per_read": round(t["total"] / read_s, 2),
            "read_s": round(t["read"], 3), "compute_s": round(t["compute"], 3), "reduce_s": round(t["reduce"], 3),
            "reduce_share": round(t["reduce"] / t["total"], 4), "write_s": round(t["write"], 3),
            "cpu_s": round(cpu, 3), "where": where_time_went(t),
            "coordinates": coordinates, "coordinates_per_s": run_section["coordinates_per_s"],
            "peak_rss_mib": "/".join(str(round(b / 2**20)) for b in run_section["peak_rss_bytes"]),
            "of_bandwidth_ceiling": "" if ceiling is None else f"{100 * run_section['coordinates_per_s'] / ceiling:.1f}%",
            "cpu": args.cpu,
        })
        rows[-1]["phases"] = phase_row(rows[-1], t, wall)
    return rows


def where_time_went(timings, count=4):
    """The `count` largest phases of rank 0, e.g. "kernel 60%, wait 20%, ..." (of its wall time)."""
    if "phases" not in timings or timings["wall"] <= 0:
        return ""
    largest = sorted(timings["phases"], key=lambda p: -p["rank_0"])[:count]
    return ", ".join(f"{p['phase']} {100 * p['rank_0'] / timings['wall']:.0f}%" for p in largest)


def save_rows(args, env, shape, path, read_s):
    """--output in both formats at the largest rank count: the second read of W, encoding and writing."""
    ranks = max(args.ranks)
    rows = []
    for extension in ("h5", "safetensors"):
        output = os.path.join(args.out, f"saved.{extension}")
        report_path = report_file(args, shape, f"save_{extension}")
        report, wall, _ = analyze(args, env, path, ranks, "exact", ["--output", output], report_path)
        os.remove(output)
        saved = report["output"]
        rows.append({
            "shape": shape_name(shape), "format": saved["format"], "ranks": ranks,
            "delta_dtype": saved["delta_dtype"], "exceptions": saved["exceptions"],
            "bytes_written": saved["bytes_written"], "write_s": round(saved["write_s"], 3),
            "write_mb_per_s": round(saved["write_bytes_per_s"] / 1e6), "wall_s": round(wall, 3),
            "wall_per_read": round(wall / read_s, 2), "cpu": args.cpu,
        })
    return rows


def markdown(rows, columns):
    lines = ["| " + " | ".join(title for _, title in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key, "")
            if key == "coordinates_per_s":
                value = f"{value:.3g}"
            elif key == "reduce_share":
                value = f"{100 * value:.1f}%"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


ANALYSIS_COLUMNS = [("shape", "W shape"), ("element_type", "format"), ("file_gb", "file GB"), ("ranks", "ranks"), ("arithmetic", "arithmetic"),
                    ("plain_read_s", "plain read s"), ("wall_s", "latdisp wall s"), ("wall_per_read", "wall / read"),
                    ("start_floor_s", "start floor s"), ("floor_per_read", "floor / read"),
                    ("total_s", "total s"), ("total_per_read", "total / read"), ("read_s", "read s"),
                    ("compute_s", "compute s"), ("reduce_s", "reduce s"), ("reduce_share", "reduce share"),
                    ("write_s", "write s"), ("cpu_s", "CPU s (all processes)"), ("where", "where time went (rank 0)"),
                    ("coordinates_per_s", "coordinates/s"),
                    ("peak_rss_mib", "peak RSS MiB per rank"), ("of_bandwidth_ceiling", "of bandwidth ceiling"),
                    ("cpu", "CPU")]
SAVE_COLUMNS = [("shape", "W shape"), ("format", "format"), ("ranks", "ranks"), ("delta_dtype", "delta dtype"),
                ("exceptions", "exceptions"), ("bytes_written", "bytes written"), ("write_s", "write s"),
                ("write_mb_per_s", "write MB/s"), ("wall_s", "latdisp wall s"), ("wall_per_read", "wall / read"),
                ("cpu", "CPU")]
SUMMARY_COLUMNS = [("shape", "W shape"), ("ranks", "ranks"), ("element_type", "format"),
                   ("wall_per_read", "wall / read"), ("relative_to_bf16", "over bf16's"),
                   ("above_floor_per_read", "(wall - floor) / read"),
                   ("above_floor_relative_to_bf16", "over bf16's, above the floor"),
                   ("relative_by_round", "over bf16's in each round: median (range)"),
                   ("coordinates_per_s", "coordinates/s")]
SHARE_COLUMNS = [("shape", "block"), ("element_type", "format"), ("kernel_coordinates_per_s", "kernel coordinates/s"),
                 ("loop_coordinates_per_s", "plain loop coordinates/s"), ("kernel_share", "kernel / loop"),
                 ("near_zero_share", "kernel with the near-zero breakdown / loop"),
                 ("note", "note"), ("cpu", "CPU")]


PHASE_KEYS = [("shape", "W shape"), ("element_type", "format"), ("ranks", "ranks"), ("arithmetic", "arithmetic"),
              ("wall_s", "latdisp wall s"), ("outside", "outside")]


def phase_columns(rows):
    """The phase table's columns: the run's keys, `outside`, then every phase in report order."""
    columns = list(PHASE_KEYS)
    for row in rows:
        for key in row:
            if key not in dict(columns):
                columns.append((key, key))
    return columns


def write_csv(path, rows, columns):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[key for key, _ in columns], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


OPTIMIZER = (1001, 10000, 64)
OPTIMIZER_COLUMNS = [("shape", "W shape"), ("ranks", "ranks"), ("binary", "binary"), ("plain_read_s", "plain read s"),
                     ("wall_s", "latdisp wall s"), ("x_read", "wall / read"), ("speedup", "baseline wall / wall"),
                     ("total_s", "total s"),
                     ("read_s", "read s"), ("compute_s", "compute s"), ("reduce_s", "reduce s"),
                     ("cpu_s", "CPU s (all ranks)"), ("cpu_ns_per_coordinate", "CPU ns per coordinate"),
                     ("coordinates_per_s", "coordinates/s"), ("peak_rss_mb", "peak RSS MiB per rank"), ("cpu", "CPU")]


def children_cpu_seconds():
    """User + system seconds of every finished child process and its waited-for descendants
    (mpirun and the ranks): on a shared, loaded machine the work done, where wall time also
    counts the waits for a core."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def optimizer_trajectory(args, shape):
    """A recorded-run layout (docs/optimizer.md §1): W, grad_W, momentum_W, variance_W as bf16
    bits, one step at a time (numpy, h5py), with lr and the hyperparameters as attributes."""
    import h5py
    import numpy as np
    steps, tokens, dims = shape
    path = os.path.join(args.out, f"bench_optimizer_{steps}x{tokens}x{dims}.h5")
    if os.path.exists(path):
        return path
    print(f"benchmark: writing the optimizer input W[{steps}, {tokens}, {dims}] x 4 ...", file=sys.stderr)
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((tokens, dims)) * 0.02).astype(np.float32)
    m = np.zeros_like(w)
    v = np.zeros_like(w)

    def bits(x):
        u = x.view(np.uint32)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)

    with h5py.File(path + ".partial", "w") as f:
        sets = {k: f.create_dataset(k, (steps, tokens, dims), dtype=np.uint16)
                for k in ("W", "grad_W", "momentum_W", "variance_W")}
        f.create_dataset("lr", data=np.full(steps, 1e-3))
        f.attrs.update(learning_rate=1e-3, adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, weight_decay=0.01)
        g = np.zeros_like(w)
        for t in range(steps):
            if t:
                g = (rng.standard_normal((tokens, dims)) * 1e-3).astype(np.float32)
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                w = w - 1e-3 * m / (np.sqrt(v) + 1e-8)
            for k, x in (("W", w), ("grad_W", g), ("momentum_W", m), ("variance_W", v)):
                sets[k][t] = bits(np.ascontiguousarray(x, dtype=np.float32))
    os.rename(path + ".partial", path)
    return path


def optimizer_rows(args, env, shape, path, read_s):
    """latdisp optimizer at each rank count: its time over one plain read of the four tensors.
    With --optimizer-baseline, that binary too, its runs interleaved with this build's (one of
    each in turn, best of N each), and this build's speed-up over it in the same window."""
    builds = [("build", args.latdisp)] + ([("baseline", args.optimizer_baseline)] if args.optimizer_baseline else [])
    rows = []
    for ranks in args.ranks:
        best = {}
        for _ in range(args.repeats):
            for name, binary in builds:
                report_path = os.path.join(args.out, f"optimizer_{shape[0]}x{shape[1]}x{shape[2]}_np{ranks}_{name}.json")
                cpu = children_cpu_seconds()
                wall = timed(args.mpirun + ["-np", str(ranks), binary, "optimizer", "--input", path,
                                            "--update-rule", "torch-mul-add", "--memory-budget", args.memory_budget,
                                            "--report", report_path, "--overwrite", "--progress-seconds", "0"], env)
                cpu = children_cpu_seconds() - cpu
                if name not in best or wall < best[name][0]:
                    with open(report_path) as f:
                        best[name] = (wall, json.load(f)["run"], cpu)
        for name, _ in builds:
            wall, run_section, cpu = best[name]
            timings = run_section["timings_s"]
            rows.append({"shape": "x".join(map(str, shape)), "ranks": ranks, "binary": name,
                         "wall_s": round(wall, 2), "total_s": round(timings["total"], 2),
                         "read_s": round(timings["read"], 2), "compute_s": round(timings["compute"], 2),
                         "reduce_s": round(timings["reduce"], 2), "cpu_s": round(cpu, 2),
                         # (S-1)·N·D coordinates: the CPU the audit costs, less the waits for a core on a shared machine
                         "cpu_ns_per_coordinate": round(1e9 * cpu / ((shape[0] - 1) * shape[1] * shape[2]), 1),
                         "plain_read_s": round(read_s, 2), "x_read": round(wall / read_s, 2),
                         "speedup": round(best["baseline"][0] / wall, 2) if "baseline" in best else "",
                         "coordinates_per_s": run_section["coordinates_per_s"],
                         "peak_rss_mb": max(run_section["peak_rss_bytes"]) // (1 << 20), "cpu": args.cpu})
    return rows


SURVEY = (151936, 2560, 64)  # rows, dims, planted groups: a released model's embedding (tools/benchmark_survey.py)
SURVEY_COLUMNS = [("shape", "embedding"), ("ranks", "ranks"), ("plain_read_s", "plain read s"),
                  ("wall_s", "latdisp wall s"), ("x_read", "wall / read"), ("survey_s", "survey s"),
                  ("rows_per_s", "rows compared/s"), ("comparisons_per_s", "lattice comparisons/s (kernel)"),
                  ("where", "where time went (rank 0)"), ("outside", "outside s"), ("peak_rss_mb", "peak RSS MiB"),
                  ("cpu", "CPU")]


def survey_rows(args, env):
    """latdisp survey of a synthetic bf16 embedding (tools/benchmark_survey.py's matrix) at each rank
    count, best of --repeats: its wall time over one plain read of the file in the same run, rows
    compared per second (every row hashed and compared, then measured against the groups: rows /
    the report's timing.seconds), the distance kernel's lattice comparisons per second, and where
    rank 0's time went (timing.timings_s)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from benchmark_survey import write_matrix
    rows_n, dims, groups = args.survey_shape
    path = os.path.join(args.out, f"bench_survey_{rows_n}x{dims}.safetensors")
    if not os.path.exists(path):
        print(f"benchmark: writing the embedding [{rows_n}, {dims}] bf16 ...", file=sys.stderr)
        write_matrix(path, rows_n, dims, groups)
    read_s = plain_read_seconds(path, args.repeats)
    rows = []
    for ranks in args.ranks:
        report_path = os.path.join(args.out, f"survey_{rows_n}x{dims}_np{ranks}.json")
        best = None
        for _ in range(args.repeats):
            wall = timed(args.mpirun + ["-np", str(ranks), args.latdisp, "survey", "--model", path, "--report",
                                        report_path, "--memory-budget", args.memory_budget, "--overwrite"], env)
            if best is None or wall < best[0]:
                with open(report_path) as f:
                    best = (wall, json.load(f)["timing"])
        wall, timing = best
        timings = timing.get("timings_s", {})
        rows.append({"shape": f"{rows_n}x{dims}", "ranks": ranks, "plain_read_s": round(read_s, 3),
                     "wall_s": round(wall, 2), "x_read": round(wall / read_s, 1), "survey_s": round(timing["seconds"], 2),
                     "rows_per_s": f"{rows_n / timing['seconds']:.3g}" if timing["seconds"] > 0 else "",
                     "comparisons_per_s": f"{timing['lattice_comparisons_per_second'] or 0:.3g}",
                     "where": where_time_went(timings),
                     "outside": f"{wall - timings['wall']:.2f}" if "wall" in timings else "",
                     "peak_rss_mb": timing["peak_rss_bytes"] // (1 << 20), "cpu": args.cpu})
    return rows


def survey_benchmark(args, env):
    rows = survey_rows(args, env)
    table = "\n".join([f"# latdisp survey benchmark ({os.uname().nodename}, {args.cpu}; file warm in the page "
                       f"cache; --memory-budget {args.memory_budget}; best of {args.repeats}; wall / read = wall over "
                       "one plain read (cat) of the embedding's file; outside = wall - timing.timings_s.wall)", ""]
                      + markdown(rows, SURVEY_COLUMNS))
    print(table)
    with open(os.path.join(args.out, "benchmark_survey.md"), "w") as f:
        f.write(table + "\n")
    write_csv(os.path.join(args.out, "benchmark_survey.csv"), rows, SURVEY_COLUMNS)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", action="store_true", help="also the notebook's shape, W[6001, 10000, 64]")
    parser.add_argument("--shape", type=int, nargs=3, action="append", metavar=("S", "N", "D"), default=[],
                        help="another shape (repeatable)")
    parser.add_argument("--no-small", action="store_true", help=f"skip the small shape W{list(SMALL)}")
    parser.add_argument("--trained", action="store_true",
                        help=f"also W{list(TRAINED)} recorded from a real bf16 training run (needs torch)")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--arithmetic", nargs="+", default=["exact"], choices=["exact", "seed"])
    parser.add_argument("--element-type", nargs="+", default=["bf16"],
                        choices=["bf16", "f16", "f32", "f8e4m3", "f8e5m2"])
    parser.add_argument("--memory-budget", default="2GiB")
    parser.add_argument("--repeats", type=int, default=2, help="best of N runs (and of N plain reads)")
    parser.add_argument("--no-save", action="store_true", help="skip the --output measurements")
    parser.add_argument("--build", default="build")
    parser.add_argument("--latdisp", help="the latdisp executable to time (default: BUILD/latdisp)")
    parser.add_argument("--loop-shape", type=int, nargs=3, metavar=("S", "N", "D"), default=list(LOOP_SHAPE),
                        help="the in-memory block of the kernel-vs-plain-loop comparison")
    parser.add_argument("--loop-repeats", type=int, default=7, help="best of N passes over that block")
    parser.add_argument("--loop-only", action="store_true", help="only the kernel-vs-plain-loop comparison")
    parser.add_argument("--out", default="bench")
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--optimizer", action="store_true",
                        help=f"instead: latdisp optimizer on W{list(OPTIMIZER)} x 4 tensors (bf16, 5.1 GB)")
    parser.add_argument("--optimizer-shape", type=int, nargs=3, metavar=("S", "N", "D"), default=list(OPTIMIZER))
    parser.add_argument("--optimizer-baseline", metavar="LATDISP",
                        help="with --optimizer: another latdisp binary (an earlier build) run interleaved with "
                             "this build's, for a speed-up measured in the same window")
    parser.add_argument("--survey", action="store_true",
                        help=f"instead: latdisp survey of a bf16 embedding of {SURVEY[0]} x {SURVEY[1]} "
                             f"({SURVEY[2]} planted groups), against a plain read of its file")
    parser.add_argument("--survey-shape", type=int, nargs=3, metavar=("ROWS", "DIMS", "GROUPS"), default=list(SURVEY))
    args = parser.parse_args()
    args.latdisp = args.latdisp or os.path.join(args.build, "latdisp")
    args.mpirun = [args.mpirun, "--oversubscribe"]
    args.cpu = cpu_model()

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    os.makedirs(args.out, exist_ok=True)
    if args.survey:
        survey_benchmark(args, env)
        return
    if args.optimizer:
        shape = tuple(args.optimizer_shape)
        path = optimizer_trajectory(args, shape)
        read_s = plain_read_seconds(path, args.repeats)
        rows = optimizer_rows(args, env, shape, path, read_s)
        table = "\n".join([f"# latdisp optimizer benchmark ({os.uname().nodename}, {args.cpu}; "
                           f"--memory-budget {args.memory_budget}; best of {args.repeats}; x_read = wall over one "
                           "plain read of the four tensors' file)", ""] + markdown(rows, OPTIMIZER_COLUMNS))
        print(table)
        with open(os.path.join(args.out, "benchmark_optimizer.md"), "w") as f:
            f.write(table + "\n")
        write_csv(os.path.join(args.out, "benchmark_optimizer.csv"), rows, OPTIMIZER_COLUMNS)
        return
    shares = kernel_share_rows(args, env)
    together = [cores_together(args, env)]
    shapes = [] if args.loop_only else (([] if args.no_small else [SMALL]) + [tuple(s) for s in args.shape]
                                        + ([NOTEBOOK] if args.notebook else []) + ([TRAINED] if args.trained else []))
    analysis, saving = [], []
    for shape in shapes:
        paths = shape_paths(args, env, shape)
        if not paths:
            continue
        reads, best, floors, rounds = measure_formats(args, env, shape, paths)
        analysis += analysis_rows(args, env, shape, paths, reads, best, floors, rounds)
        if not args.no_save and "bf16" in paths:
            saving += save_rows(args, env, shape, paths["bf16"], reads["bf16"])

    together.append(cores_together(args, env))
    lines = [f"# latdisp benchmark ({os.uname().nodename}, {args.cpu}; each file dropped from the page cache and read back before it is timed; "
             f"--memory-budget {args.memory_budget}; best of {args.repeats} rounds, each round every format in turn: "
             "its plain read, then its runs)"]
    if together[0] is not None:
        lines += ["", "The cores together (build/latdisp_plain_loop on each at once, before and after the runs): "
                  f"{together[0]}; {together[1]}."]
    if analysis:
        lines += ["", "wall = the whole mpirun command; total = the report's run.timings_s.total (rank 0); "
                  "x / read = that time over one plain read of the same file (cat, warm); start floor = "
                  "`mpirun -np RANKS latdisp --version` in the same rounds (the ranks start and shut down, nothing "
                  "analyzed): no run at that rank count takes less, so floor / read is the least wall / read "
                  "this machine allows.", ""]
        lines += markdown(analysis, ANALYSIS_COLUMNS)
    if analysis:
        phases = [row["phases"] for row in analysis]
        lines += ["", "Where time went: rank 0's seconds per phase (the slowest rank's in parentheses where it differs; "
                  "docs/report.md §3); outside = wall - the report's timings_s.wall (mpirun starting the ranks, the "
                  "reports, the shutdown); read_busy: the reading thread's busy time, beside the phases:", ""]
        lines += markdown(phases, phase_columns(phases))
    if analysis and len(args.element_type) > 1:
        lines += ["", "Per format: wall / read (exact) and that ratio over bf16's; the same above the start "
                  "floor, (wall - floor) / read (the floor is the same for every format, an FP8 file reads in about "
                  "half bf16's time: on a small file the floor alone pulls FP8's ratio over bf16's towards the "
                  "reads' ratio); and the ratio over bf16's round by round, each run over its own round's read "
                  "(runs seconds apart, spared most of the machine's drift):", ""]
        lines += markdown(format_summary(analysis), SUMMARY_COLUMNS)
    lines += ["", "The kernel's share of the plain loop (one core, the same in-memory block of each format, "
              "in one process; kernel: analyze_raw_block, exact, min-normal, analyze's 1024 tokens per item, row events; "
              "loop: build/latdisp_plain_loop):", ""]
    lines += markdown(shares, SHARE_COLUMNS)
    if saving:
        lines += ["", "Saving (--output; includes the second read of W and the encoding):", ""]
        lines += markdown(saving, SAVE_COLUMNS)
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, "benchmark.md"), "w") as f:
        f.write(table + "\n")
    if analysis:
        write_csv(os.path.join(args.out, "benchmark.csv"), analysis, ANALYSIS_COLUMNS)
    write_csv(os.path.join(args.out, "benchmark_kernel_share.csv"), shares, SHARE_COLUMNS)
    if saving:
        write_csv(os.path.join(args.out, "benchmark_saving.csv"), saving, SAVE_COLUMNS)


if __name__ == "__main__":
    main()
