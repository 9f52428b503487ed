#!/usr/bin/python3
"""latdisp scaling study: run `latdisp analyze` at several rank counts and plot
speed-up, efficiency and the per-phase time breakdown.

  strong  one trajectory W[steps, tokens, dims] at every P
  weak    W[steps, tokens * P, dims] at P ranks (--tokens is then per rank)

usage: tools/scaling_study.py [--mode strong|weak|both] [--ranks 1 2 4]
           [--steps 201 --tokens 10000 --dims 64] [--launcher mpirun|srun]
           [--build build] [--config configs/scaling.cfg] [--repeats 3] [--out scaling]

Writes into --out: the generated trajectories (reused when present), the best
JSON report per run (reports/), scaling.csv, scaling.md and two figures:
  scaling_speedup.png  speed-up and efficiency against ranks, with the ideal line
  scaling_phases.png   total time per rank count, split into phases (rank 0's)
Speed-up is throughput (coordinates/s, from total time) relative to the smallest
P, times that P: T(1)/T(P) for strong scaling, P*T(1)/T(P) for weak scaling.
Efficiency is speed-up / P. Runs with more ranks than cores (--cores, default
the CPUs this process may use, or the Slurm allocation's) are oversubscribed and
marked so in the CSV and on the figures. With --launcher srun, run the driver
inside an allocation (salloc or a batch job) of at least max(--ranks) tasks."""
import argparse
import csv
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402

PHASES = ("read", "compute", "reduce", "write", "other")
PHASE_COLORS = {"read": "#1f77b4", "compute": "#2ca02c", "reduce": "#ff7f0e", "write": "#9467bd",
                "other": "#bdbdbd"}
MODE_STYLE = {"strong": ("#1565c0", "o"), "weak": ("#c62828", "s")}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_cores():
    if "SLURM_JOB_ID" in os.environ and "SLURM_CPUS_ON_NODE" in os.environ:
        return int(os.environ["SLURM_CPUS_ON_NODE"]) * int(os.environ.get("SLURM_JOB_NUM_NODES", "1"))
    return len(os.sched_getaffinity(0))


def launch(args, ranks):
    """The launcher's command prefix for `ranks` ranks."""
    over = ranks > args.cores
    if args.launcher == "srun":
        return ["srun", "--mpi=pmix", "-n", str(ranks)] + (["--overcommit"] if over else [])
    return ["mpirun", "-np", str(ranks)] + (["--oversubscribe"] if over else [])


def run(command, env, timeout):
    try:
        result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit(f"scaling_study: no result within {timeout} s: {' '.join(command)}")
    if result.returncode != 0:
        sys.exit(f"scaling_study: {' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")


def trajectory(args, env, ranks, tokens):
    """W[steps, tokens, dims] in --out, generated at `ranks` ranks unless present."""
    data = os.path.join(args.out, f"W_{args.steps}x{tokens}x{args.dims}.h5")
    if not os.path.exists(data):
        print(f"generating {data}", flush=True)
        run(launch(args, ranks) + [os.path.join(args.build, "latdisp"), "generate", "--output", data,
                                   "--steps", str(args.steps), "--tokens", str(tokens), "--dims", str(args.dims),
                                   "--seed", str(args.seed)], env, args.timeout)
    return data


def analyze(args, env, ranks, data):
    """One analyze run; returns its report, with the 1-minute load average before it."""
    path = os.path.join(args.out, "reports", "last.json")
    load = os.getloadavg()[0]
    run(launch(args, ranks) + [os.path.join(args.build, "latdisp"), "analyze", "--config", args.config,
                               "--input", data, "--report", path], env, args.timeout)
    with open(path) as f:
        report = json.load(f)
    os.remove(path)
    if report["run"]["ranks"] != ranks:
        sys.exit(f"scaling_study: asked for {ranks} ranks, the report says {report['run']['ranks']}")
    report["run"]["load_1min"] = load
    return report


def summarize(args, mode, ranks, best):
    """The CSV row of the best run."""
    r, t = best["run"], best["run"]["timings_s"]
    row = {"mode": mode, "ranks": ranks, "oversubscribed": int(ranks > args.cores), "cores": args.cores,
           "shape": "x".join(str(n) for n in best["input"]["shape"]), "repeats": args.repeats,
           "load_1min": r["load_1min"]}
    row.update({f"{p}_s": t[p] for p in PHASES[:-1]})
    row["other_s"] = max(0.0, t["total"] - sum(t[p] for p in PHASES[:-1]))
    row["total_s"] = t["total"]
    row["coordinates_per_s"] = r["coordinates_per_s"]
    rss = [b / 2**20 for b in r["peak_rss_bytes"]]
    row["peak_rss_mib_max"] = max(rss)
    row["peak_rss_mib_per_rank"] = " ".join(f"{m:.0f}" for m in rss)
    return row


def add_speedup(rows):
    base = min(rows, key=lambda row: row["ranks"])
    for row in rows:
        row["speedup"] = row["coordinates_per_s"] / base["coordinates_per_s"] * base["ranks"]
        row["efficiency"] = row["speedup"] / row["ranks"]


def subtitle(args):
    return (f"{args.cores} cores, {args.launcher}, best of {args.repeats}; strong: W[{args.steps}, {args.tokens}, "
            f"{args.dims}]; weak: W[{args.steps}, {args.tokens}·P, {args.dims}]")


def plot_speedup(results, args, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    ranks = sorted({row["ranks"] for rows in results.values() for row in rows})
    for ax, key, ideal, label in ((axes[0], "speedup", np.array(ranks, float), "speed-up"),
                                  (axes[1], "efficiency", np.ones(len(ranks)), "parallel efficiency")):
        ax.plot(ranks, ideal, "k--", lw=1.2, label="ideal (speed-up = P, efficiency = 1)")
        for mode, rows in results.items():
            color, marker = MODE_STYLE[mode]
            x = [row["ranks"] for row in rows]
            y = [row[key] for row in rows]
            ax.plot(x, y, "-" + marker, color=color, lw=2, ms=9, mew=2, label=f"{mode} scaling")
            for row in rows:
                if row["oversubscribed"]:
                    ax.plot(row["ranks"], row[key], marker, ms=9, color=color, mfc="white", mew=2)
                if row["ranks"] == rows[0]["ranks"]:
                    continue  # the baseline: 1 by definition
                ax.annotate(f"{row[key]:.2f}", (row["ranks"], row[key]), textcoords="offset points",
                            xytext=(8, -12 if mode == "strong" else 6), fontsize=9, color=color,
                            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5})
        if max(ranks) > args.cores:
            ax.axvspan(args.cores * 2 ** 0.5, max(ranks) * 1.5, color="#eeeeee", zorder=0)  # P > cores
            ax.text(0.985, 0.985, f"shaded: P > {args.cores} cores, oversubscribed", transform=ax.transAxes,
                    ha="right", va="top", fontsize=9, color="#b71c1c")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ranks, [str(r) for r in ranks])
        ax.set_xlim(min(ranks) / 1.5, max(ranks) * 1.5)
        ax.set_xlabel("MPI ranks P")
        ax.set_ylabel(label)
        ax.set_ylim(0, max(max(ideal), *(row[key] for rows in results.values() for row in rows)) * 1.15)
        ax.grid(alpha=0.3)
    axes[0].set_title("Speed-up (throughput vs. the smallest P)")
    axes[1].set_title("Efficiency = speed-up / P")
    fig.suptitle(f"latdisp analyze scaling — {subtitle(args)}", fontsize=11)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=3, bbox_to_anchor=(0.5, 0.95),
               frameon=False)
    note = "Hollow markers: more ranks than cores (oversubscribed): ranks share cores, no speed-up is expected there."
    fig.text(0.5, 0.015, note if max(ranks) > args.cores else "No run was oversubscribed.", ha="center",
             fontsize=9.5, color="#b71c1c" if max(ranks) > args.cores else "#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 0.91))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_phases(results, args, path):
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 5.2), squeeze=False)
    for ax, (mode, rows) in zip(axes[0], results.items()):
        x = np.arange(len(rows))
        bottom = np.zeros(len(rows))
        for phase in PHASES:
            values = np.array([row[f"{phase}_s"] for row in rows])
            ax.bar(x, values, 0.6, bottom=bottom, color=PHASE_COLORS[phase], label=phase, edgecolor="white")
            bottom += values
        for i, row in enumerate(rows):
            text = f"{row['total_s']:.2f} s"
            if row["oversubscribed"]:
                text += "\noversubscribed"
                ax.bar(i, row["total_s"], 0.6, fill=False, hatch="//", edgecolor="#b71c1c", lw=0)
            ax.text(i, row["total_s"], text, ha="center", va="bottom", fontsize=9)
        ax.set_xticks(x, [f"P = {row['ranks']}\n{row['shape'].replace('x', ' x ')}" for row in rows], fontsize=9)
        ax.set_ylim(0, max(bottom) * 1.25)
        ax.set_ylabel("time (s), rank 0")
        ax.set_title(f"{mode} scaling: time per phase" + (" (ideal: flat)" if mode == "weak" else
                                                              " (ideal: halves as P doubles)"))
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"latdisp analyze phase breakdown — {subtitle(args)}", fontsize=11)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles[:len(PHASES)], labels[:len(PHASES)], loc="upper center", ncol=len(PHASES),
               bbox_to_anchor=(0.5, 0.95), frameon=False)
    note = (f"Hatched: P > {args.cores} cores (oversubscribed). " if max(args.ranks) > args.cores else "") + \
        "'other': set-up and planning (total minus the timed phases); reduce includes waiting for slower ranks."
    fig.text(0.5, 0.015, note, ha="center", fontsize=9.5, color="#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 0.91))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(all_rows):
    lines = ["| mode | P | shape | read s | compute s | reduce s | other s | total s | coords/s | speed-up "
             "| efficiency | peak RSS/rank MiB |", "|" + "---|" * 12]
    for r in all_rows:
        lines.append(f"| {r['mode']} | {r['ranks']}{' (over)' if r['oversubscribed'] else ''} | {r['shape']} | "
                     f"{r['read_s']:.3f} | {r['compute_s']:.3f} | {r['reduce_s']:.3f} | {r['other_s']:.3f} | "
                     f"{r['total_s']:.3f} | {r['coordinates_per_s']:.3g} | {r['speedup']:.2f} | "
                     f"{r['efficiency']:.2f} | {r['peak_rss_mib_per_rank']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("strong", "weak", "both"), default="both")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=201)
    parser.add_argument("--tokens", type=int, default=10000, help="strong: total; weak: per rank")
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--launcher", choices=("mpirun", "srun"), default="mpirun")
    parser.add_argument("--cores", type=int, default=default_cores(), help="more ranks are oversubscribed")
    parser.add_argument("--build", default=os.path.join(REPO, "build"))
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "scaling.cfg"))
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs (the file is warm after the first)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed for one run")
    parser.add_argument("--out", default="scaling")
    args = parser.parse_args()
    args.ranks = sorted(set(args.ranks))

    env = dict(os.environ)  # MPI-IO choices (OMPI_MCA_io, OMPI_MCA_fcoll) come from the environment
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    os.makedirs(os.path.join(args.out, "reports"), exist_ok=True)

    modes = ("strong", "weak") if args.mode == "both" else (args.mode,)
    cases = [(mode, ranks, args.tokens * ranks if mode == "weak" else args.tokens)
             for mode in modes for ranks in args.ranks]
    data = {case: trajectory(args, env, max(args.ranks), case[2]) for case in cases}
    best = {}
    # Repeats go round all cases, so a burst of load from elsewhere spoils one run of
    # several cases rather than every run of one; the fastest run of each case is kept.
    for repeat in range(args.repeats):
        for case in cases:
            mode, ranks, tokens = case
            print(f"[{repeat + 1}/{args.repeats}] {mode} P={ranks}: W[{args.steps}, {tokens}, {args.dims}]",
                  flush=True)
            report = analyze(args, env, ranks, data[case])
            if case not in best or report["run"]["timings_s"]["total"] < best[case]["run"]["timings_s"]["total"]:
                best[case] = report
    results = {}
    for mode in modes:
        results[mode] = []
        for case in (c for c in cases if c[0] == mode):
            with open(os.path.join(args.out, "reports", f"{mode}_np{case[1]}.json"), "w") as f:
                json.dump(best[case], f, indent=1)
            results[mode].append(summarize(args, mode, case[1], best[case]))
        add_speedup(results[mode])
    all_rows = [row for rows in results.values() for row in rows]
    with open(os.path.join(args.out, "scaling.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(all_rows[0]))
        writer.writeheader()
        writer.writerows({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()} for row in all_rows)
    table = markdown(all_rows)
    with open(os.path.join(args.out, "scaling.md"), "w") as f:
        f.write(f"latdisp scaling: {subtitle(args)}\n\n{table}\n")
    plot_speedup(results, args, os.path.join(args.out, "scaling_speedup.png"))
    plot_phases(results, args, os.path.join(args.out, "scaling_phases.png"))
    print(table)
    print(f"wrote {args.out}/scaling.csv, scaling.md, scaling_speedup.png, scaling_phases.png")


if __name__ == "__main__":
    main()
