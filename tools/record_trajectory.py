#!/usr/bin/python3
"""Record a training run in the layout latdisp reads fastest: call once per
step to append the matrix's bfloat16 bits to an HDF5 trajectory W (steps,
tokens, dims), resizable, one step per chunk, flushed after every step, with
the training step numbers (`steps`) and the per-token dead mask
(`dead_mask`). Needs only numpy and h5py.

    from record_trajectory import TrajectoryRecorder
    with TrajectoryRecorder("run.h5", tokens=vocab, dims=dim) as recorder:
        for step in ...:
            ...
            recorder.append(embedding.weight.detach().view(torch.uint16).cpu().numpy(), step)
        recorder.set_dead_mask(dead)          # numpy bool array, one value per token

A run killed between two steps leaves a file latdisp reads up to the last
finished step; one killed inside `append` leaves a step it refuses by name.
Reopen with resume=True to continue after a restart.

usage (a copy of an existing trajectory, step by step; a self-test):
    record_trajectory.py --from W.h5 OUT.h5 [--dataset W] [--first-step 0] [--step-gap 1]
"""
import argparse
import os
import sys

import h5py
import numpy as np

# HDF5 chunks must stay below 4 GiB; larger steps are split along the tokens.
_MAX_CHUNK_BYTES = 1 << 30


class TrajectoryRecorder:
    """Appends one (tokens, dims) matrix of bfloat16 bits per call."""

    def __init__(self, path, tokens, dims, dataset="W", resume=False, overwrite=False):
        self.path, self.tokens, self.dims, self.dataset = path, int(tokens), int(dims), dataset
        if resume and os.path.exists(path):
            self._file = h5py.File(path, "a")
            w = self._file[dataset]
            if w.shape[1:] != (self.tokens, self.dims):
                raise ValueError(f"{path}: {dataset} holds {w.shape[1:]} matrices, not {(self.tokens, self.dims)}")
        else:
            if os.path.exists(path) and not overwrite:
                raise FileExistsError(f"{path} exists (pass overwrite=True or resume=True)")
            self._file = h5py.File(path, "w")
            rows = max(1, min(self.tokens, _MAX_CHUNK_BYTES // (2 * self.dims)))
            matrix = (self.tokens, self.dims)
            self._file.create_dataset(dataset, shape=(0,) + matrix, maxshape=(None,) + matrix, dtype=np.uint16,
                                      chunks=(1, rows, self.dims))
            self._file.create_dataset("steps", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(4096,))
        self._w = self._file[dataset]
        self._steps = self._file["steps"]

    def append(self, bits, step):
        """bits: the matrix's bfloat16 bit patterns as a numpy uint16 (or int16)
        array of shape (tokens, dims), e.g. tensor.view(torch.uint16).cpu().numpy()."""
        bits = np.asarray(bits)
        if bits.dtype == np.int16:
            bits = bits.view(np.uint16)
        if bits.dtype != np.uint16:
            raise TypeError(f"append wants the bfloat16 bits as uint16, not {bits.dtype} values: pass "
                            "tensor.view(torch.uint16).cpu().numpy() (a float conversion would change the values)")
        if bits.shape != (self.tokens, self.dims):
            raise ValueError(f"append wants a ({self.tokens}, {self.dims}) matrix, not {bits.shape}")
        t = self._w.shape[0]
        self._w.resize(t + 1, axis=0)
        self._w[t] = bits
        self._steps.resize(t + 1, axis=0)
        self._steps[t] = int(step)
        self._file.flush()

    def set_dead_mask(self, mask):
        """One bool per token (True: dead); written or replaced now."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.tokens,):
            raise ValueError(f"the dead mask needs shape ({self.tokens},), not {mask.shape}")
        if "dead_mask" in self._file:
            del self._file["dead_mask"]
        self._file.create_dataset("dead_mask", data=mask)
        self._file.flush()

    @property
    def steps_recorded(self):
        return self._w.shape[0]

    def close(self):
        if self._file:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()


def main(argv):
    parser = argparse.ArgumentParser(description="Copy a trajectory step by step with TrajectoryRecorder.")
    parser.add_argument("--from", dest="source", required=True, help="HDF5 file holding W (steps, tokens, dims)")
    parser.add_argument("output")
    parser.add_argument("--dataset", default="W")
    parser.add_argument("--first-step", type=int, default=0)
    parser.add_argument("--step-gap", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    with h5py.File(args.source, "r") as source:
        w = source[args.dataset]
        with TrajectoryRecorder(args.output, w.shape[1], w.shape[2], overwrite=args.overwrite) as recorder:
            for t in range(w.shape[0]):
                recorder.append(w[t], args.first_step + t * args.step_gap)
            if "dead_mask" in source:
                recorder.set_dead_mask(source["dead_mask"][...])
            print(f"recorded {recorder.steps_recorded} steps into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
