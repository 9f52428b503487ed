#!/usr/bin/python3
"""Plots a `latdisp optimizer` JSON report (docs/optimizer.md §6):
(1) the fraction of the intended update that rounding lost, per step, live
and dead tokens; (2) the share of coordinates whose intended update was
swallowed, per step; (3) the variance ratchet: per step, how many exp_avg_sq
coordinates increased, stayed and decreased (a bf16 run under torch 1.13
never decreases). Needs matplotlib.

usage: plot_optimizer.py REPORT.json OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(values):
    return [float("nan") if v is None else v for v in values]


def main(argv):
    if len(argv) != 2:
        print(__doc__)
        return 1
    with open(argv[0]) as f:
        report = json.load(f)
    if report.get("schema") != "latdisp.optimizer/1":
        print(f"{argv[0]} is not a latdisp optimizer report (schema {report.get('schema')!r})")
        return 1
    steps = list(range(1, report["input"]["shape"][0]))
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), sharex=True)
    colors = {"live": "tab:blue", "dead": "tab:red"}
    for pop in ("live", "dead"):
        lost = series(report["sums"][pop]["per_step"]["lost_fraction"])
        axes[0].plot(steps, lost, color=colors[pop], label=f"{pop} tokens")
        classes = report["classes"][pop]["per_step"]
        totals = [sum(classes[c][i] for c in classes) for i in range(len(steps))]
        swallowed = [s / t if t else float("nan") for s, t in zip(classes["swallowed"], totals)]
        axes[1].plot(steps, swallowed, color=colors[pop], label=f"{pop} tokens")
        ratchet = report["states"][pop]["exp_avg_sq"]["per_step"]
        style = "-" if pop == "live" else "--"
        for key, color in (("increased", "tab:green"), ("unchanged", "tab:gray"), ("decreased", "tab:purple")):
            axes[2].plot(steps, ratchet[key], style, color=color, label=f"{pop}: {key}")
    axes[0].set_ylabel("lost fraction\nsum|u - Δ| / sum|u|")
    axes[1].set_ylabel("swallowed share\nof coordinates")
    axes[2].set_ylabel("exp_avg_sq coordinates")
    axes[2].set_xlabel("optimizer step t (snapshot index)")
    axes[0].set_title(f"{report['input']['path']}: {report['run']['update_rule']}, "
                      f"W {report['input']['element_type']} {report['input']['shape']}, replay "
                      f"{report['replay']['W']['match']}/{report['replay']['W']['match'] + report['replay']['W']['mismatch']} W bits")
    axes[2].set_title("the variance ratchet: exp_avg_sq per step")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
