#!/usr/bin/python3
"""Writes one trajectory W (read from an HDF5 file with h5py, then tokens
30..33 made copies of token 29 from the middle step on, so that blackholes has
a group to find) in every input layout latdisp reads, with the tests' own
safetensors writer:
  w.h5                   W (uint16) and dead_mask (bool) with h5py: the reference
  traj.safetensors       W as BF16 after grad_W, momentum_W, losses, ..., with dead_mask
  traj_u16.safetensors   W as U16 bits at an odd file offset, a steps tensor, no mask
  mask.safetensors       the dead mask alone (tensor "dead"), for FILE:NAME
  series/                checkpoint-<step>/model.safetensors, sharded checkpoints with an
                         index, plain step_<n>.safetensors files, and entries that are
                         not checkpoints; step numbers not in lexical order
  files/                 ckpt-<step>.safetensors only (for a glob)
  manifest.txt           "STEP PATH" lines pointing into series/
  steps.json             the training step numbers of the series
usage: make_input_formats.py GENERATED.h5 OUTDIR   (needs N >= 34)"""
import json
import os
import struct
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

NAME = "model.embed_tokens.weight"


def w_file_offset(path):
    """The file offset of tensor W's first byte in a safetensors file."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return 8 + length + json.loads(f.read(length))["W"]["data_offsets"][0]


def main(source, out):
    with h5py.File(source, "r") as f:
        W = f["W"][...].astype(np.uint16)
        dead = f["dead_mask"][...].astype(bool)
    S, N, D = W.shape
    W[S // 2:, 30:34, :] = W[S // 2:, 29:30, :]
    rng = np.random.default_rng(5)
    noise = lambda: rng.integers(0, 65536, size=W.shape, dtype=np.uint16)  # noqa: E731
    os.makedirs(out, exist_ok=True)
    with h5py.File(f"{out}/w.h5", "w") as f:
        f.create_dataset("W", data=W)
        f.create_dataset("dead_mask", data=dead)
    write_safetensors(f"{out}/traj.safetensors", [
        ("grad_W", "BF16", noise()), ("momentum_W", "BF16", noise()),
        ("losses", "F32", rng.random(S - 1).astype(np.float32)), ("live_mask", "BOOL", ~dead),
        ("dead_mask", "BOOL", dead), ("W", "BF16", W), ("variance_W", "BF16", noise())],
        metadata={"notebook": "1.8g"})
    steps = np.arange(S, dtype=np.int64) * 10
    # One flag byte or two, whichever puts W at an odd file offset (read, never mapped).
    for flag_bytes in (1, 2):
        write_safetensors(f"{out}/traj_u16.safetensors", [
            ("flag", "U8", np.ones(flag_bytes, dtype=np.uint8)), ("steps", "I64", steps), ("W", "U16", W)],
            align=False)
        if w_file_offset(f"{out}/traj_u16.safetensors") % 2 == 1:
            break
    assert w_file_offset(f"{out}/traj_u16.safetensors") % 2 == 1
    write_safetensors(f"{out}/mask.safetensors", [("dead", "BOOL", dead)])

    # The series: step numbers chosen so that lexical order is wrong.
    series_steps = [5 * (i + 1) if i < 3 else 100 * (i - 1) for i in range(S)]  # 5, 10, 15, 200, 300, ...
    series = f"{out}/series"
    os.makedirs(series, exist_ok=True)
    for t, step in enumerate(series_steps):
        lm_head = rng.integers(0, 65536, size=(N, D), dtype=np.uint16)
        norm = rng.integers(0, 65536, size=(D,), dtype=np.uint16)
        if t % 3 == 0:  # checkpoint folder with model.safetensors
            folder = f"{series}/checkpoint-{step}"
            os.makedirs(folder, exist_ok=True)
            write_safetensors(f"{folder}/model.safetensors", [
                ("lm_head.weight", "BF16", lm_head), (NAME, "BF16", W[t]), ("model.norm.weight", "BF16", norm)])
            with open(f"{folder}/trainer_state.json", "w") as f:
                json.dump({"global_step": step}, f)
        elif t % 3 == 1:  # sharded checkpoint: the matrix is in the second shard
            folder = f"{series}/checkpoint-{step}"
            os.makedirs(folder, exist_ok=True)
            shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
            write_safetensors(f"{folder}/{shards[0]}", [("lm_head.weight", "BF16", lm_head)])
            write_safetensors(f"{folder}/{shards[1]}", [("model.norm.weight", "BF16", norm), (NAME, "BF16", W[t])])
            index = {"metadata": {"total_size": 0},
                     "weight_map": {"lm_head.weight": shards[0], NAME: shards[1], "model.norm.weight": shards[1]}}
            with open(f"{folder}/model.safetensors.index.json", "w") as f:
                json.dump(index, f)
        else:  # a plain file
            write_safetensors(f"{series}/step_{step}.safetensors", [(NAME, "BF16", W[t])])
    # Not checkpoints: no step number in the name.
    write_safetensors(f"{series}/dead_mask.safetensors", [("dead_mask", "BOOL", dead)])
    write_safetensors(f"{series}/model.safetensors", [(NAME, "BF16", W[-1])])
    os.makedirs(f"{series}/runs", exist_ok=True)
    with open(f"{series}/config.json", "w") as f:
        json.dump({"vocab_size": N}, f)

    files = f"{out}/files"
    os.makedirs(files, exist_ok=True)
    for t, step in enumerate(series_steps):
        write_safetensors(f"{files}/ckpt-{step}.safetensors", [(NAME, "BF16", W[t])])

    with open(f"{out}/manifest.txt", "w") as f:
        f.write("# one checkpoint per line: STEP PATH (relative to this file)\n")
        for t, step in enumerate(series_steps):
            entry = f"checkpoint-{step}" if t % 3 != 2 else f"step_{step}.safetensors"
            f.write(f"{step} series/{entry}\n\n")
    with open(f"{out}/steps.json", "w") as f:
        json.dump({"series": series_steps, "traj_u16": steps.tolist()}, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
