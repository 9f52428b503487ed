#!/usr/bin/python3
"""Record a trajectory step by step with the latdisp package's TrajectoryWriter
(python/latdisp; docs/formats.md §15): a thin wrapper kept for scripts that call
TrajectoryRecorder, and a command that copies an existing trajectory step by step (the
recorder's self-test). From a PyTorch training loop, use latdisp.Recorder, which also
records the optimizer's state:

    import latdisp
    with latdisp.Recorder("run.h5", model.embed.weight, optimizer, steps=S) as recorder:
        ...  # optimizer.step(); recorder.record(); optimizer.zero_grad()

The file is written under a temporary name and renamed when closed, so a killed run never
leaves a partial file under the target's name (there is nothing to resume).

usage:
    record_trajectory.py --from W.h5 OUT.h5 [--dataset W] [--first-step 0] [--step-gap 1] [--overwrite]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))   # this checkout's package
import h5py  # noqa: E402

from latdisp import TrajectoryWriter  # noqa: E402


class TrajectoryRecorder:
    """Appends one (tokens, dims) matrix of bfloat16 bits (uint16 or int16) per call."""

    def __init__(self, path, tokens, dims, dataset="W", overwrite=False):
        self.dataset = dataset
        self._writer = TrajectoryWriter(path, {dataset: (tokens, dims, "bf16")}, overwrite=overwrite)

    def append(self, bits, step):
        self._writer.append({self.dataset: bits}, step)

    def set_dead_mask(self, mask):
        self._writer.set_dead_mask(mask)

    @property
    def steps_recorded(self):
        return self._writer.snapshots

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return self._writer.__exit__(*exception)


def main(argv):
    parser = argparse.ArgumentParser(description="Copy a trajectory step by step with latdisp.TrajectoryWriter.")
    parser.add_argument("--from", dest="source", required=True, help="HDF5 file holding W (steps, tokens, dims)")
    parser.add_argument("output")
    parser.add_argument("--dataset", default="W")
    parser.add_argument("--first-step", type=int, default=0)
    parser.add_argument("--step-gap", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    with h5py.File(args.source, "r") as source:
        w = source[args.dataset]
        with TrajectoryRecorder(args.output, w.shape[1], w.shape[2], args.dataset, args.overwrite) as recorder:
            for t in range(w.shape[0]):
                recorder.append(w[t], args.first_step + t * args.step_gap)
            if "dead_mask" in source:
                recorder.set_dead_mask(source["dead_mask"][...])
        print(f"recorded {recorder.steps_recorded} steps into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
