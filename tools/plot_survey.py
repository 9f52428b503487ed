#!/usr/bin/python3
"""Plot a `latdisp survey --report` JSON report (schema latdisp.survey/1) as
one PNG.

usage: tools/plot_survey.py REPORT.json [--out FIGURE.png] [--groups 32]

Three panels (docs/definitions.md, "Model survey"; the keys: docs/report.md):
  group sizes      the largest groups' sizes, the members beyond the tokenizer
                   (and, with --compare, unchanged) marked within each bar
  halo distances   rows outside the groups by the L-infinity lattice distance to
                   their nearest group (1..16, and farther), log scale
  distance matrix  L-infinity lattice distance between the groups'
                   representatives (log colour scale; labels <= 16 written in)."""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib import colors, ticker  # noqa: E402

SIZE, BEYOND, UNCHANGED, NEAREST = "#1565c0", "#c62828", "#2e7d32", "#6a1b9a"


def plot_sizes(ax, report, shown):
    groups = report["groups"][:shown]
    x = np.arange(len(groups))
    sizes = np.array([g["size"] for g in groups])
    ax.bar(x, sizes, color=SIZE, label="members")
    if groups and groups[0]["beyond_tokenizer"] is not None:
        ax.bar(x, [g["beyond_tokenizer"] for g in groups], color=BEYOND, width=0.5, label="beyond the tokenizer")
    if groups and groups[0]["unchanged"] is not None:
        ax.plot(x, [g["unchanged"] for g in groups], "o", color=UNCHANGED, markersize=4, label="unchanged (--compare)")
    ax.set_xticks(x)
    ax.set_xticklabels([str(g["first_token"]) for g in groups], rotation=90, fontsize=7)
    ax.set_xlabel("group (first token)")
    ax.set_ylabel("rows")
    if len(sizes) and sizes.max() / max(sizes.min(), 1) > 50:
        ax.set_yscale("log")
    ax.set_title(f"{report['rows']['groups']} groups of bit-identical rows ({report['rows']['grouped']} rows); "
                 f"largest {len(groups)}", fontsize=10)
    ax.legend(fontsize=8)


def plot_halo(ax, report):
    counts = report["nearest"]["counts"]
    labels = [str(d) for d in range(1, 17)] + [">16"]
    values = counts[1:] + [counts[0]]
    if report["nearest"].get("distance_zero"):
        labels, values = ["0"] + labels, [report["nearest"]["distance_zero"]] + values
    ax.bar(np.arange(len(values)), values, color=NEAREST)
    ax.set_xticks(np.arange(len(values)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("L-infinity lattice distance to the nearest group (cells)")
    ax.set_ylabel("rows outside the groups")
    near = report["settings"]["near"]
    ax.set_title(f"halo distances (halo: <= {near}; {sum(g['halo'] for g in report['groups'])} rows)", fontsize=10)


def plot_matrix(ax, fig, report, shown):
    linf = np.array(report["distances"]["linf"], dtype=float)[:shown, :shown]
    if linf.size == 0:
        ax.text(0.5, 0.5, "no groups", ha="center", va="center")
        ax.set_axis_off()
        return
    image = ax.imshow(np.maximum(linf, 0.5), cmap="viridis", norm=colors.LogNorm(vmin=0.5, vmax=max(linf.max(), 1)))
    fig.colorbar(image, ax=ax, label="L-infinity distance (cells)")
    if len(linf) <= 24:
        for i in range(len(linf)):
            for j in range(len(linf)):
                if i != j and linf[i, j] <= 16:
                    ax.text(j, i, int(linf[i, j]), ha="center", va="center", color="white", fontsize=7)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("group")
    ax.set_ylabel("group")
    ax.set_title("distances between the groups' representatives", fontsize=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report")
    parser.add_argument("--out", help="the PNG (default: REPORT with .png)")
    parser.add_argument("--groups", type=int, default=32, help="largest groups shown (default 32)")
    args = parser.parse_args()
    with open(args.report) as f:
        report = json.load(f)
    if report.get("schema") != "latdisp.survey/1":
        sys.exit(f"{args.report}: not a latdisp survey report (schema {report.get('schema')!r})")
    out = args.out or os.path.splitext(args.report)[0] + ".png"
    fig, axes = plt.subplots(1, 3, figsize=(18, 5.2))
    plot_sizes(axes[0], report, args.groups)
    plot_halo(axes[1], report)
    plot_matrix(axes[2], fig, report, args.groups)
    shape = report["input"]["shape"]
    fig.suptitle(f"{report['input']['path']}: {report['input']['tensor']} ({shape[0]} x {shape[1]}, "
                 f"{report['input']['element_type']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


main()
