#!/usr/bin/python3
"""Plot a `latdisp analyze --report` JSON report (schema latdisp.analyze/1) as PNGs.

usage: tools/plot_report.py REPORT.json [--out DIR] [--prefix NAME] [--max-points 500]

Writes five figures into DIR (default: the report's directory), named
<prefix>_<figure>.png (default prefix: the report's file name without .json):
  classes     coordinates per step in each class (exact ... nonfinite), live and dead
  motion      fraction of coordinates moved, and of exponent crossings, per step
  magnitudes  log2 histogram of row magnitudes and per-step mean/max magnitude
  regimes     rows per step in each motion regime (thermal, hop, non-finite, frozen),
              stacked, live and dead, with frozen_from and the last thermal step marked
              (--regimes-log: a log y axis, where the few moving rows of a freeze show)
  summary     one page: verdict, key numbers (motion included) and small versions of the panels
When a report has more than --max-points steps, consecutive steps are aggregated
into equal bins (counts summed, means averaged, maxima maximised) and each
figure says so."""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

CLASSES = ("exact", "almost", "half", "non_integer", "nonfinite")
CLASS_COLORS = {"exact": "#2e7d32", "almost": "#1565c0", "half": "#ef6c00",
                "non_integer": "#c62828", "nonfinite": "#6a1b9a"}
SUBSET_COLORS = {"all": "#424242", "live": "#1f77b4", "dead": "#ff7f0e"}
SUBSET_NAMES = {"all": "all tokens", "live": "live tokens", "dead": "dead tokens"}
VERDICT_COLORS = {"PERFECT": "#2e7d32", "ROUNDING": "#827717",
                  "HALF_INTEGERS": "#ef6c00", "GENERAL_QUARTERS": "#c62828"}
STEP_LABEL = "transition t (snapshot t -> t+1)"
TRAINING_STEP_LABEL = "training step (each transition at the step it ends at)"
DPI = 100


class StepBins:
    """Groups the S-1 transitions into equal bins of `width` consecutive steps."""

    def __init__(self, n_steps, max_points, training_steps=None):
        # The snapshots' training steps (the report's input.steps) or None: transition t is then
        # labelled by the step it ends at, training_steps[t + 1].
        self.training_steps = training_steps if training_steps and len(training_steps) == n_steps + 1 else None
        self.width = max(1, -(-n_steps // max(1, max_points)))
        self.starts = np.arange(0, n_steps, self.width)
        self.lasts = np.minimum(self.starts + self.width, n_steps) - 1
        self.x = (self.starts + self.lasts) / 2.0

    def note(self, how):
        """Sentence telling the reader how steps were aggregated ("" when they were not)."""
        return "" if self.width == 1 else f"steps aggregated in bins of {self.width}: {how}"

    def step_of(self, t):
        """Transition t as a reader names it: its training step when known, else t."""
        t = int(round(t))
        if self.training_steps is None:
            return f"t={t}"
        return f"step {self.training_steps[min(max(t + 1, 0), len(self.training_steps) - 1)]}"

    def snapshot_of(self, s):
        """Snapshot s (frozen_from): its training step when known, else t=s."""
        return f"t={s}" if self.training_steps is None else f"step {self.training_steps[s]}"

    def per(self):
        return "per step" if self.width == 1 else f"per {self.width}-step bin"

    def sum(self, values):
        return np.add.reduceat(as_array(values), self.starts)

    def max(self, values):
        return np.fmax.reduceat(as_array(values), self.starts)

    def mean(self, values):
        values = as_array(values)
        finite = np.isfinite(values)
        total = np.add.reduceat(np.where(finite, values, 0.0), self.starts)
        count = np.add.reduceat(finite.astype(float), self.starts)
        return divide(total, count)


def as_array(values):
    """A JSON list (nulls allowed) as a float array with NaN for null."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def divide(numerator, denominator):
    """Elementwise numerator / denominator, NaN where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    return np.divide(numerator, denominator, out=np.full_like(numerator, np.nan), where=denominator > 0)


def section(block, subset):
    """The 'all tokens' block itself, or its live/dead sub-block."""
    return block if subset == "all" else block[subset]


def coordinates_per_step(displacement_block):
    """Coordinates per step of a subset: the sum of its five class series."""
    return sum(as_array(displacement_block["per_step"][c]) for c in CLASSES)


def has_coordinates(report, subset):
    return bool(section(report["displacement"], subset)["coordinates"])


# ----------------------------------------------------------------- formatting

def plural(count, word):
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def fmt_int(value):
    return "n/a" if value is None else f"{int(value):,}"


def fmt_num(value):
    """A count-like or real number, short: integers in full below 1e15, else 4 digits."""
    if value is None:
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def fmt_pct(part, whole):
    """part/whole as a percentage that never rounds a non-zero part to 0% or a partial one to 100%."""
    if part is None or not whole:
        return "n/a"
    percent = 100.0 * part / whole
    if part == 0 or part == whole:
        return f"{percent:.0f}%"
    if percent < 1:
        return f"{percent:.2g}%"
    text = f"{percent:.2f}%"
    return ">99.99%" if text == "100.00%" else text


def fmt_rate(value):
    if value is None:
        return "n/a"
    for factor, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g} {unit}"
    return f"{value:.3g}"


# --------------------------------------------------------------- axis helpers

def plot_positive(ax, x, y, **style):
    """Plot y against x for a log axis, leaving gaps where y is null or <= 0.

    Keeps a legend entry even when nothing is positive; returns whether anything was drawn."""
    y = np.asarray(y, dtype=float)
    positive = np.isfinite(y) & (y > 0)
    ax.plot(x, np.where(positive, y, np.nan), marker=".", markersize=3 if len(x) > 20 else 8, linewidth=1, **style)
    return bool(positive.any())


def plain_tick(value, _position):
    return f"{value:g}"


def minor_tick_formatter(decades):
    """Minor tick labels for a log axis spanning `decades`: 2, 3, 5, 7 below one decade, else 2 and 5."""
    shown = (2, 3, 5, 7) if decades <= 1 else (2, 5)

    def label(value, _position):
        mantissa = value / 10 ** np.floor(np.log10(value) + 1e-9)
        return f"{value:g}" if any(abs(mantissa - m) < 1e-6 for m in shown) else ""
    return ticker.FuncFormatter(label)


def finish_log_axis(ax, drawn, empty_message, plain=False):
    """Make the y axis logarithmic, or say why there is nothing to show.

    Ticks read as plain numbers (0.02, 500) with some labelled between decades when `plain` is set
    or the axis spans at most 2.5 decades; otherwise as powers of ten."""
    if drawn:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
        decades = np.log10(high / low)
        if plain or decades <= 2.5:
            ax.yaxis.set_major_formatter(ticker.FuncFormatter(plain_tick))
            ax.yaxis.set_minor_formatter(minor_tick_formatter(decades) if decades <= 2.5 else ticker.NullFormatter())
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, empty_message, transform=ax.transAxes, ha="center", va="center", color="gray")


def training_step_tick(bins):
    """Tick text of transition t: the training step it ends at (between snapshots: interpolated)."""
    steps = np.asarray(bins.training_steps, dtype=float)

    def label(value, _position):
        return f"{np.interp(value + 1, np.arange(len(steps)), steps):.0f}"
    return ticker.FuncFormatter(label)


def steps_axis(ax, bins):
    """Label the step axis (training steps when the report has them, else transitions t); a single point gets
    one tick and some room either side."""
    ax.set_xlabel(STEP_LABEL if bins.training_steps is None else TRAINING_STEP_LABEL)
    ax.grid(True, which="major", alpha=0.3)
    if len(bins.x) == 1:
        first, last = bins.starts[0], bins.lasts[0]
        ax.set_xlim(bins.x[0] - 1, bins.x[0] + 1)
        name = (lambda t: str(t)) if bins.training_steps is None else (lambda t: str(bins.training_steps[t + 1]))
        ax.set_xticks(bins.x, [name(first) if first == last else f"{name(first)}..{name(last)}"])
    else:
        ax.xaxis.get_major_locator().set_params(integer=True)
        if bins.training_steps is not None:
            ax.xaxis.set_major_formatter(training_step_tick(bins))


def legend_outside(ax):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)


def legend_below(ax):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize="x-small", frameon=False)


def shape_text(report):
    steps, tokens, dims = report["input"]["shape"]
    return f"S x N x D = {steps} x {tokens} x {dims}, {plural(report['input']['n_dead'], 'dead token')}"


def figure_title(fig, report, title, note):
    """Title, then a line naming the input and its shape, then any step aggregation note."""
    lines = [title, f"{os.path.basename(report['input']['path'])}: {shape_text(report)}"]
    if note:
        lines.append(note[0].upper() + note[1:])
    fig.suptitle("\n".join(lines), fontsize="x-large")


def subset_title(report, subset):
    block = section(report["displacement"], subset)
    steps, tokens, dims = report["input"]["shape"]
    n_tokens = {"all": tokens, "live": tokens - report["input"]["n_dead"], "dead": report["input"]["n_dead"]}
    if not n_tokens[subset]:
        return f"{SUBSET_NAMES[subset]}: none"
    per_step = block["coordinates"] // max(1, steps - 1)
    return (f"{SUBSET_NAMES[subset]}: {plural(n_tokens[subset], 'token')} x {dims} dims = {per_step:,} "
            f"coordinates per step, verdict {block['verdict']}")


# --------------------------------------------------------------------- panels

def draw_classes(ax, report, bins, subset):
    """Coordinates per step (or bin) in each class, log y."""
    block = section(report["displacement"], subset)
    ax.set_ylabel(f"coordinates {bins.per()} (log)")
    steps_axis(ax, bins)
    if not block["coordinates"]:
        finish_log_axis(ax, False, f"no {SUBSET_NAMES[subset]}")
        return
    drawn = [plot_positive(ax, bins.x, bins.sum(block["per_step"][c]), color=CLASS_COLORS[c],
                           label=f"{c} ({fmt_int(block[c])} in all)") for c in CLASSES]
    finish_log_axis(ax, any(drawn), "no coordinates")


def fraction_series(report, bins, subset, what):
    """Per-bin fraction of coordinates that moved / crossed an exponent, and the overall fraction text."""
    displacement = section(report["displacement"], subset)
    coordinates = bins.sum(coordinates_per_step(displacement))
    if what == "moved":
        events, total, whole = displacement["per_step"]["moved"], displacement["moved"], displacement["coordinates"]
    else:
        crossings = section(report["crossings"], subset)
        events, total, whole = crossings["per_step"], crossings["crossed"], crossings["transitions"]
    return divide(bins.sum(events), coordinates), fmt_pct(total, whole)


def draw_fraction(ax, report, bins, subsets, what):
    """Fraction of each subset's coordinates that moved (x != 0) or crossed an exponent, log y."""
    drawn = False
    for subset in subsets:
        if not has_coordinates(report, subset):
            ax.plot([], [], color=SUBSET_COLORS[subset], label=f"{SUBSET_NAMES[subset]}: none")
            continue
        fraction, overall = fraction_series(report, bins, subset, what)
        drawn |= plot_positive(ax, bins.x, fraction, color=SUBSET_COLORS[subset],
                               label=f"{SUBSET_NAMES[subset]} ({overall} overall)")
    finish_log_axis(ax, drawn, "no coordinates " + ("moved" if what == "moved" else "crossed an exponent"),
                    plain=True)
    ax.set_ylabel("fraction of coordinates (log)")
    steps_axis(ax, bins)


def draw_magnitude_steps(ax, report, bins, subsets):
    """Per-step (or per-bin) mean and max row magnitude, log y."""
    drawn = False
    for subset in subsets:
        per_step = section(report["magnitude"], subset)["per_step"]
        name = SUBSET_NAMES[subset]
        mean_label = "mean" if bins.width == 1 else "mean of step means"
        drawn |= plot_positive(ax, bins.x, bins.mean(per_step["mean"]), color=SUBSET_COLORS[subset],
                               label=f"{name}: {mean_label}")
        drawn |= plot_positive(ax, bins.x, bins.max(per_step["max"]), color=SUBSET_COLORS[subset],
                               linestyle=":", label=f"{name}: max")
    finish_log_axis(ax, drawn, "no non-zero finite magnitudes", plain=True)
    ax.set_ylabel("row magnitude |x[t,n,:]| in ULPs (log)")
    steps_axis(ax, bins)


def histogram_bins(histogram):
    """(k values, counts) of the non-empty [2^k, 2^(k+1)) bins of one histogram."""
    counts = np.asarray(histogram["counts"], dtype=float)
    if histogram["log2_lo"] is None or counts.size == 0:
        return np.zeros(0), np.zeros(0)
    k = histogram["log2_lo"] + np.arange(counts.size)
    return k[counts > 0], counts[counts > 0]


def log2_ticks(k_lo, k_hi, max_ticks):
    """Tick positions k in [k_lo, k_hi]: the multiples of the smallest power-of-two stride giving <= max_ticks."""
    stride = 1
    while (k_hi - k_lo) // stride + 1 > max_ticks:
        stride *= 2
    return [k for k in range(k_lo, k_hi + 1) if k % stride == 0]


def draw_histogram(ax, report, subsets, max_ticks=20):
    """Grouped bars of finite row magnitudes: one '0' bar, then one bar per [2^k, 2^(k+1)) bin."""
    blocks = {s: section(report["magnitude"], s) for s in subsets}
    blocks = {s: block for s, block in blocks.items() if block["count"]}
    if not blocks:
        finish_log_axis(ax, False, "no finite row magnitudes")
        return
    bars = {s: histogram_bins(b["histogram"]) for s, b in blocks.items()}
    all_k = np.concatenate([k for k, _ in bars.values()])
    k_lo, k_hi = (int(all_k.min()), int(all_k.max())) if all_k.size else (0, 0)
    gap = max(1.5, (k_hi - k_lo) / 12)
    margin = max(0.6, (k_hi - k_lo) / 60)
    width = 0.8 / len(blocks)
    tallest = 1
    for i, (subset, block) in enumerate(blocks.items()):
        offset = (i - (len(blocks) - 1) / 2) * width
        k, counts = bars[subset]
        x = np.concatenate([[k_lo - gap], k]) + offset
        heights = np.concatenate([[block["histogram"]["zero"]], counts])
        tallest = max(tallest, heights.max())
        nonfinite = f", {block['nonfinite']:,} non-finite not shown" if block["nonfinite"] else ""
        ax.bar(x[heights > 0], heights[heights > 0], width=width, color=SUBSET_COLORS[subset],
               label=f"{SUBSET_NAMES[subset]} ({plural(block['count'], 'row')}{nonfinite})")
    ax.axvline(k_lo - gap / 2, color="gray", linestyle=":", linewidth=1)
    ticks = log2_ticks(k_lo, k_hi, max_ticks)
    ax.set_xticks([k_lo - gap] + ticks, ["0"] + [f"$2^{{{k}}}$" for k in ticks])
    ax.set_xlim(k_lo - gap - margin, k_hi + margin)
    ax.set_ylim(0.5, 2 * tallest)  # 0.5: a bar of a single row still shows
    finish_log_axis(ax, True, "")
    ax.set_xlabel("row magnitude |x[t,n,:]| in ULPs: bar at $2^k$ counts [$2^k$, $2^{k+1}$); '0' = exactly zero")
    ax.set_ylabel("rows (token x step) (log)")
    ax.grid(True, axis="y", alpha=0.3)


REGIMES = ("thermal", "hop", "nonfinite", "frozen")  # bottom to top: the moving rows first
REGIME_COLORS = {"thermal": "#c62828", "hop": "#ef6c00", "nonfinite": "#6a1b9a", "frozen": "#90a4ae"}
REGIME_NAMES = {"thermal": "thermal (m > R)", "hop": "hop (0 < m <= R)", "nonfinite": "non-finite m",
                "frozen": "frozen (m = 0)"}


def motion_story(motion, bins):
    """One line: when thermal motion and hops last happened, and since when the population is still."""
    if motion["last_motion_step"] is None:
        return "never moved"
    still = ("still moving at the end" if motion["frozen_from"] is None
             else f"frozen from {bins.snapshot_of(motion['frozen_from'])}")
    thermal = ("no thermal motion" if motion["last_thermal_step"] is None
               else f"thermal last {bins.step_of(motion['last_thermal_step'])}")
    hops = "no hops" if motion["last_hop_step"] is None else f"hops last {bins.step_of(motion['last_hop_step'])}"
    return f"{thermal}, {hops}, {still}"


def mark_steps(ax, bins, motion):
    """Vertical lines at the last thermal step (its bar's middle) and where the freeze begins (the left edge of
    transition frozen_from), labelled; steps, not bins, so they stay exact when steps are aggregated."""
    if motion["last_thermal_step"] is not None:
        ax.axvline(motion["last_thermal_step"], color=REGIME_COLORS["thermal"], linestyle="--", linewidth=1.5,
                   label=f"last thermal {bins.step_of(motion['last_thermal_step'])}")
    if motion["frozen_from"] is not None and motion["frozen_from"] <= bins.lasts[-1]:
        ax.axvline(motion["frozen_from"] - 0.5, color="black", linestyle="-", linewidth=1.5,
                   label=f"frozen from {bins.snapshot_of(motion['frozen_from'])}")


def draw_regimes(ax, report, bins, subset, log):
    """Rows per step (or bin) in each regime, stacked; frozen_from and the last thermal step marked."""
    motion = section(report["motion"], subset)
    ax.set_ylabel(f"rows (token x step) {bins.per()}" + (" (log)" if log else ""))
    steps_axis(ax, bins)
    counts = {r: bins.sum(motion["per_step"][r]) for r in REGIMES}
    total = sum(counts.values())
    if not total.any():
        finish_log_axis(ax, False, f"no {SUBSET_NAMES[subset]}")
        return
    floor = 0.5 if log else 0.0  # a log axis has no 0: the stack starts just below one row
    widths = bins.lasts - bins.starts + 1  # one bar per step or bin, touching its neighbours
    lower = np.zeros_like(total)
    for regime in REGIMES:
        upper = lower + counts[regime]
        bottom = np.maximum(lower, floor)
        ax.bar(bins.x, np.maximum(upper, floor) - bottom, bottom=bottom, width=widths, linewidth=0,
               color=REGIME_COLORS[regime], label=f"{REGIME_NAMES[regime]}: {int(motion[f'{regime}_rows']):,} rows")
        lower = upper
    mark_steps(ax, bins, motion)
    if log:
        ax.set_yscale("log")
        ax.set_ylim(floor, 2 * total.max())
    else:
        ax.set_ylim(0, 1.02 * total.max())


def plot_regimes(report, bins, path, log):
    fig = new_figure(13, 8)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, subset in zip(axes, ("live", "dead")):
        draw_regimes(ax, report, bins, subset, log)
        motion = section(report["motion"], subset)
        ax.set_title(f"{SUBSET_NAMES[subset]}: {motion_story(motion, bins)}; {motion['global_freeze_steps']:,} of "
                     f"{len(motion['per_step']['frozen']):,} transitions without motion", loc="left")
        legend_outside(ax)
    axes[0].set_xlabel("")
    radius = report["motion"]["hop_radius"]
    figure_title(fig, report, f"Motion regimes per step: row magnitude m against the hop radius R = {radius:.4g} "
                 "cells" + (" (log scale)" if log else ""), bins.note("rows summed per bin"))
    save(fig, path)


# -------------------------------------------------------------------- figures

def new_figure(width, height):
    return plt.figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(fig, path):
    fig.get_layout_engine().set(h_pad=0.1)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(path)


def plot_classes(report, bins, path):
    fig = new_figure(13, 8)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, subset in zip(axes, ("live", "dead")):
        draw_classes(ax, report, bins, subset)
        ax.set_title(subset_title(report, subset), loc="left")
        legend_outside(ax)
    axes[0].set_xlabel("")
    figure_title(fig, report, "Displacement classes per step (log scale)", bins.note("counts summed per bin"))
    save(fig, path)


def plot_motion(report, bins, path):
    fig = new_figure(13, 8)
    axes = fig.subplots(2, 1, sharex=True)
    draw_fraction(axes[0], report, bins, ("live", "dead"), "moved")
    axes[0].set_title("coordinates that moved (finite x != 0)", loc="left")
    axes[0].set_xlabel("")
    draw_fraction(axes[1], report, bins, ("live", "dead"), "crossed")
    axes[1].set_title("exponent crossings (exponent field of W[t+1] != that of W[t])", loc="left")
    for ax in axes:
        legend_outside(ax)
    figure_title(fig, report, "Motion per step: moved coordinates and exponent crossings",
                 bins.note("fractions over all coordinates of each bin"))
    save(fig, path)


def plot_magnitudes(report, bins, path):
    fig = new_figure(13, 9)
    top, bottom = fig.subplots(2, 1)
    present = tuple(s for s in ("live", "dead") if has_coordinates(report, s))
    draw_histogram(top, report, ("all",) + present)
    top.set_title("histogram of finite row magnitudes, log2 bins", loc="left")
    draw_magnitude_steps(bottom, report, bins, present)
    bottom.set_title("row magnitude per step over finite rows (zeros and empty steps leave gaps)", loc="left")
    for ax in (top, bottom):
        legend_outside(ax)
    figure_title(fig, report, "Row magnitudes m = sqrt(sum over d of x[t,n,d]^2)",
                 bins.note("mean of the step means, max of the step maxima"))
    save(fig, path)


def summary_rows(report, bins):
    """The key numbers of a report as (label, text) rows; an empty label continues the row above."""
    disp, mag, cross, run = report["displacement"], report["magnitude"], report["crossings"], report["run"]
    steps, tokens, dims = report["input"]["shape"]
    total = disp["coordinates"]
    rows = [("input", report["input"]["path"]),
            ("shape", shape_text(report)),
            ("coordinates", f"{fmt_int(total)}  ({plural(steps - 1, 'transition')} x {tokens} x {dims})"),
            ("", "")]
    rows += [(c, f"{fmt_int(disp[c]):>15}  {fmt_pct(disp[c], total):>8}") for c in CLASSES + ("moved",)]
    rows += [("", ""),
             ("range", f"[{fmt_num(disp['min'])}, {fmt_num(disp['max'])}], max |x| {fmt_num(disp['max_abs'])}"),
             ("integer range", f"[{fmt_num(disp['integer_min'])}, {fmt_num(disp['integer_max'])}], "
                               f"recommended dtype {disp['recommended_dtype'] or 'none'}"),
             ("verdicts", ", ".join(f"{s} {disp[s]['verdict'] if disp[s]['coordinates'] else 'none'}"
                                    for s in ("live", "dead"))),
             ("crossings", f"{fmt_int(cross['crossed'])} of {fmt_int(cross['transitions'])} "
                           f"({fmt_pct(cross['crossed'], cross['transitions'])})"),
             ("magnitude", f"median {fmt_num(mag['median'])}, p99 {fmt_num(mag['percentiles']['99'])}, "
                           f"max {fmt_num(mag['max'])} ULPs"),
             ("", f"over {fmt_int(mag['count'])} finite rows, {fmt_int(mag['nonfinite'])} non-finite"),
             ("disagreements", f"{fmt_int(disp['arithmetic_disagreements'])} (arithmetic {run['arithmetic']})"),
             *motion_rows(report, bins),
             ("run", f"{run['ranks']} rank(s), Kokkos {run['kokkos_backend']}, "
                     f"{fmt_num(run['timings_s']['total'])} s total"),
             ("", f"{fmt_rate(run['coordinates_per_s'])} coordinates/s")]
    return rows


def motion_rows(report, bins):
    """The summary's motion lines, short enough for the text column (absent from reports without regimes)."""
    if "motion" not in report:
        return []
    rows = [("motion", f"hop radius R = {report['motion']['hop_radius']:.4g} cells")]
    for subset in ("live", "dead"):
        motion = report["motion"][subset]
        if motion["last_motion_step"] is None:
            rows.append(("", f"{subset}: never moved"))
            continue
        thermal, hop = motion["last_thermal_step"], motion["last_hop_step"]
        rows.append(("", f"{subset}: last thermal {'-' if thermal is None else bins.step_of(thermal)}, "
                         f"last hop {'-' if hop is None else bins.step_of(hop)}"))
        still = ("still moving at the end" if motion["frozen_from"] is None
                 else f"frozen from {bins.snapshot_of(motion['frozen_from'])}")
        rows.append(("", f"{' ' * len(subset)}  {still}"))
    return rows


def verdict_reason(displacement):
    """The verdict in one line with the counts that caused it (the report's verdict_reason; older reports:
    the same sentence made here from the class counts)."""
    if "verdict_reason" in displacement:
        return displacement["verdict_reason"]
    finite = displacement["coordinates"] - displacement["nonfinite"]
    return (f"{fmt_int(displacement['non_integer'])} non-integer, {fmt_int(displacement['half'])} half, "
            f"{fmt_int(displacement['almost'])} almost of {fmt_int(finite)} finite coordinates")


def plot_summary(report, bins, path):
    fig = new_figure(18, 10)
    grid = fig.add_gridspec(3, 3, height_ratios=(0.4, 1, 1), width_ratios=(1.3, 1, 1))
    header = fig.add_subplot(grid[0, :])
    header.axis("off")
    verdict = report["displacement"]["verdict"]
    header.text(0.0, 0.72, verdict, fontsize=40, fontweight="bold", va="center",
                color=VERDICT_COLORS.get(verdict, "black"))
    header.text(0.0, 0.3, f"why: {verdict_reason(report['displacement'])}", fontsize=12, va="center")
    header.text(0.0, 0.05, f"recommended dtype: {report['displacement']['recommended_dtype'] or 'none'}    "
                f"non-finite coordinates: {fmt_int(report['displacement']['nonfinite'])}", fontsize=18, va="center")
    header.text(1.0, 0.65, f"latdisp report: {os.path.basename(report['input']['path'])}", fontsize=16,
                ha="right", va="center")
    note = bins.note("counts summed, fractions per bin, mean of means, max of maxima")
    if note:
        header.text(1.0, 0.05, note, fontsize=11, ha="right", va="center", color="#b71c1c")
    text = fig.add_subplot(grid[1:, 0])
    text.axis("off")
    lines = [f"{label:<14}{value}" for label, value in summary_rows(report, bins)]
    text.text(0.0, 1.0, "\n".join(lines), family="monospace", fontsize=12.5, va="top", linespacing=1.5)
    panels = [fig.add_subplot(grid[r, c]) for r in (1, 2) for c in (1, 2)]
    draw_classes(panels[0], report, bins, "all")
    panels[0].set_title("classes per step, all tokens", loc="left")
    draw_fraction(panels[1], report, bins, ("live", "dead"), "crossed")
    panels[1].set_title("exponent crossings per step", loc="left")
    draw_histogram(panels[2], report, ("all",), max_ticks=10)
    panels[2].set_title("row magnitude histogram (log2 bins)", loc="left")
    panels[2].set_xlabel("row magnitude bin (ULPs)")
    draw_magnitude_steps(panels[3], report, bins, ("all",))
    panels[3].set_title("row magnitude per step", loc="left")
    panels[3].set_ylabel("row magnitude (ULPs, log)")
    for ax in panels:
        legend_below(ax)
    save(fig, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", help="JSON report written by latdisp analyze --report")
    parser.add_argument("--out", help="output directory (default: the report's directory)")
    parser.add_argument("--prefix", help="file name prefix (default: the report's name without .json)")
    parser.add_argument("--max-points", type=int, default=500,
                        help="most points per series; longer runs are aggregated into equal step bins")
    parser.add_argument("--regimes-log", action="store_true",
                        help="draw the regime composition on a log y axis (shows the few rows still moving)")
    args = parser.parse_args()
    with open(args.report) as handle:
        report = json.load(handle)
    if report.get("schema") != "latdisp.analyze/1":
        sys.exit(f"plot_report: {args.report} is not a latdisp.analyze/1 report")
    out = args.out or os.path.dirname(os.path.abspath(args.report))
    prefix = args.prefix or os.path.splitext(os.path.basename(args.report))[0]
    os.makedirs(out, exist_ok=True)
    bins = StepBins(report["input"]["shape"][0] - 1, args.max_points, report["input"].get("steps"))
    for name, plot in (("classes", plot_classes), ("motion", plot_motion),
                       ("magnitudes", plot_magnitudes), ("summary", plot_summary)):
        plot(report, bins, os.path.join(out, f"{prefix}_{name}.png"))
    if "motion" in report:
        plot_regimes(report, bins, os.path.join(out, f"{prefix}_regimes.png"), args.regimes_log)
    else:
        print(f"{args.report}: no motion section (an older report): no regimes figure")


if __name__ == "__main__":
    main()
