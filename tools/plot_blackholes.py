#!/usr/bin/python3
"""Plot a `latdisp blackholes --steps ... --report` JSON report (schema
latdisp.blackholes/1) as one PNG.

usage: tools/plot_blackholes.py REPORT.json [--out FIGURE.png] [--groups 12]

Three panels over the selected steps (training steps when the input has them):
  groups      how many groups of bit-identical tokens, and the largest one's size
  members     tokens in groups, split into live and dead
  lifetimes   the largest final groups as bars from their formation to the last
              step, and the largest initial groups from the first step to the
              last step they were still intact
(docs/definitions.md, "Black holes over time"; the keys: docs/report.md)."""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

LIVE, DEAD, GROUPS, LARGEST = "#1f77b4", "#ff7f0e", "#2e7d32", "#6a1b9a"
FINAL, INITIAL = "#c62828", "#1565c0"


def step_axis(report):
    """The x values of the selected steps and the axis label."""
    steps = np.asarray(report["steps"])
    numbers = report.get("input", {}).get("steps")
    if numbers:
        return np.asarray(numbers)[steps], "training step"
    return steps, "step (snapshot index)"


def plot_counts(ax, x, per_step, label):
    ax.plot(x, per_step["groups"], color=GROUPS, marker="." if len(x) <= 60 else None, label="groups")
    ax.set_ylabel("groups", color=GROUPS)
    other = ax.twinx()
    other.plot(x, per_step["largest"], color=LARGEST, linestyle="--", label="largest group (tokens)")
    other.set_ylabel("largest group (tokens)", color=LARGEST)
    ax.set_title("groups of bit-identical tokens per step")
    ax.set_xlabel(label)
    for axis in (ax, other):
        axis.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axis.set_ylim(bottom=0)
    lines = ax.get_lines() + other.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="lower left", fontsize=8, framealpha=0.8)


def plot_members(ax, x, per_step, label):
    members = np.asarray(per_step["members"])
    dead = np.asarray(per_step["dead_members"])
    ax.stackplot(x, members - dead, dead, colors=[LIVE, DEAD], labels=["live members", "dead members"], alpha=0.8)
    ax.set_ylabel("tokens in groups")
    ax.set_xlabel(label)
    ax.set_title("tokens in groups (live / dead)")
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)


def to_x(report, step):
    """A snapshot index on the plot's x axis."""
    numbers = report.get("input", {}).get("steps")
    return numbers[step] if numbers else step


def plot_lifetimes(ax, report, label, shown):
    last = to_x(report, report["steps"][-1])
    first = to_x(report, report["steps"][0])
    bars = []
    for g in report["final_groups"][:shown]:
        bars.append((to_x(report, g["formed_at"]), last, FINAL,
                     f"final: {g['size']} tok. from {g['first_token']} ({g['dead_members']} dead)"))
    for g in report["initial_groups"][:shown]:
        bars.append((first, to_x(report, g["intact_until"]), INITIAL,
                     f"initial: {g['size']} tok. from {g['first_token']} ({g['dead_members']} dead)"))
    if not bars:
        ax.text(0.5, 0.5, "no groups at the first or last step", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    span = max(last - first, 1)
    for row, (start, end, color, text) in enumerate(bars):
        # A group intact at one step only still gets a visible bar.
        ax.barh(row, max(end - start, span * 0.004), left=start, color=color, height=0.7)
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels([b[3] for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(first - span * 0.02, last + span * 0.02)
    ax.set_xlabel(label)
    ax.set_title("final groups: identical since (red); initial groups: intact until (blue)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report")
    parser.add_argument("--out", help="the PNG (default: the report's name with .png)")
    parser.add_argument("--groups", type=int, default=12, help="final and initial groups drawn (largest first)")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    if report.get("schema") != "latdisp.blackholes/1":
        sys.exit(f"plot_blackholes: {args.report} is not a latdisp.blackholes/1 report")
    out = args.out or os.path.splitext(args.report)[0] + ".png"

    x, label = step_axis(report)
    shown = max(0, args.groups)
    bars = min(len(report["final_groups"]), shown) + min(len(report["initial_groups"]), shown)
    fig, axes = plt.subplots(3, 1, figsize=(11, 9 + 0.18 * bars),
                             gridspec_kw={"height_ratios": [1, 1, max(1.0, 0.12 * bars)]})
    plot_counts(axes[0], x, report["per_step"], label)
    plot_members(axes[1], x, report["per_step"], label)
    plot_lifetimes(axes[2], report, label, shown)
    source = os.path.basename(report.get("matrix", {}).get("source", args.report))
    fig.suptitle(f"latdisp blackholes: {source}\n{len(report['steps'])} selected steps, groups of at least "
                 f"{report['min_size']} tokens", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"plot_blackholes: wrote {out}")


if __name__ == "__main__":
    main()
