#!/usr/bin/python3
"""latdisp benchmark: generate a trajectory, analyze it at several rank counts
and in both arithmetics, and report coordinates/s, per-phase times and peak
memory per rank beside the memory-bandwidth ceiling; then the cost of saving
the tensors (--output, HDF5 and safetensors) in MB/s.

usage: tools/benchmark.py [--steps S --tokens N --dims D] [--ranks 1 2] [--build build]
Prints a Markdown table (and writes it with the raw reports to --out)."""
import argparse
import json
import os
import subprocess
import sys


def run(command, env):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"benchmark: {' '.join(command)} failed:\n{result.stderr}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=401)
    parser.add_argument("--tokens", type=int, default=10000)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--arithmetic", nargs="+", default=["exact", "seed"])
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs (the file is warm after the first)")
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", default="bench")
    parser.add_argument("--mpirun", default="mpirun")
    args = parser.parse_args()

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    os.makedirs(args.out, exist_ok=True)
    latdisp = os.path.join(args.build, "latdisp")
    data = os.path.join(args.out, f"bench_{args.steps}x{args.tokens}x{args.dims}.h5")
    if not os.path.exists(data):
        run([args.mpirun, "-np", str(max(args.ranks)), "--oversubscribe", latdisp, "generate", "--output", data,
             "--steps", str(args.steps), "--tokens", str(args.tokens), "--dims", str(args.dims)], env)
    coordinates = (args.steps - 1) * args.tokens * args.dims
    print(f"# latdisp benchmark: W[{args.steps}, {args.tokens}, {args.dims}] = {coordinates:.3g} coordinates, "
          f"{os.path.getsize(data) / 1e9:.2f} GB file (warm in the page cache)\n")
    rows = []
    for ranks in args.ranks:
        probe = json.loads(run([args.mpirun, "-np", str(ranks), "--oversubscribe",
                                os.path.join(args.build, "latdisp_stream_probe")], env))
        ceiling = probe["read_bytes_per_s"] / 2  # two bytes of W per coordinate
        for arithmetic in args.arithmetic:
            best = None
            for _ in range(args.repeats):
                report_path = os.path.join(args.out, f"report_np{ranks}_{arithmetic}.json")
                run([args.mpirun, "-np", str(ranks), "--oversubscribe", latdisp, "analyze", "--input", data,
                     "--arithmetic", arithmetic, "--overwrite", "--report", report_path, "--progress-seconds", "0"], env)
                with open(report_path) as f:
                    report = json.load(f)["run"]
                if best is None or report["timings_s"]["total"] < best["timings_s"]["total"]:
                    best = report
            t = best["timings_s"]
            rows.append((ranks, arithmetic, best["coordinates_per_s"], t["read"], t["compute"], t["reduce"],
                         t["total"], max(best["peak_rss_bytes"]) / 2**20, ceiling,
                         best["coordinates_per_s"] / ceiling))
    header = ("| ranks | arithmetic | coordinates/s | read s | compute s | reduce s | total s | peak RSS/rank MiB "
              "| bandwidth ceiling coords/s | of ceiling |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [header] + [f"| {r[0]} | {r[1]} | {r[2]:.3g} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.2f} | "
                        f"{r[7]:.0f} | {r[8]:.3g} | {100 * r[9]:.1f}% |" for r in rows]
    # Saving: the second pass over W and the parallel writes, at the largest rank count.
    ranks = max(args.ranks)
    save_lines = ["", "| format | ranks | delta dtype | exceptions | bytes written | write s | write MB/s |",
                  "|---|---|---|---|---|---|---|"]
    for extension in ("h5", "safetensors"):
        output = os.path.join(args.out, f"saved.{extension}")
        report_path = os.path.join(args.out, f"report_save_{extension}.json")
        run([args.mpirun, "-np", str(ranks), "--oversubscribe", latdisp, "analyze", "--input", data, "--output", output,
             "--overwrite", "--report", report_path, "--progress-seconds", "0"], env)
        with open(report_path) as f:
            saved = json.load(f)["output"]
        os.remove(output)
        save_lines.append(f"| {saved['format']} | {ranks} | {saved['delta_dtype']} | {saved['exceptions']} | "
                          f"{saved['bytes_written'] / 1e6:.0f} MB | {saved['write_s']:.2f} | "
                          f"{saved['write_bytes_per_s'] / 1e6:.0f} |")
    lines += save_lines
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.out, "benchmark.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
