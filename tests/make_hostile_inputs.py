#!/usr/bin/env python3
"""Hostile inputs for the cli_hostile tests, made with h5py and plain bytes.
usage: make_hostile_inputs.py KIND WORKDIR TRAJECTORY.h5
KIND: series (a checkpoint series of W's steps, plain and sharded), hdf5
(external links, external raw storage, filters, virtual datasets, huge
declared shapes, many datasets), safetensors (overlaps hidden behind
zero-size tensors, duplicate names, many tensors)."""
import json
import os
import struct
import sys

import h5py
import numpy as np


def safetensors_bytes(header_text, data):
    header = header_text.encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + data


def write_safetensors(path, tensors):
    header, data = {}, b""
    for name, array in tensors.items():
        raw = array.tobytes()
        header[name] = {"dtype": "BF16", "shape": list(array.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    with open(path, "wb") as f:
        f.write(safetensors_bytes(json.dumps(header), data))


def series(work, w):
    os.makedirs(f"{work}/S", exist_ok=True)
    for step in range(w.shape[0]):
        write_safetensors(f"{work}/S/step_{10 * step}.safetensors", {"emb": w[step]})
    with open(f"{work}/m.txt", "w") as f:
        f.writelines(f"S/step_{10 * step}.safetensors\n" for step in range(w.shape[0]))
    # Sharded checkpoints: the matrix in the second shard of each.
    for step in range(w.shape[0]):
        folder = f"{work}/Sh/checkpoint-{10 * step}"
        os.makedirs(folder, exist_ok=True)
        write_safetensors(f"{folder}/model-00001-of-00002.safetensors", {"other": w[step][:2]})
        write_safetensors(f"{folder}/model-00002-of-00002.safetensors", {"emb": w[step]})
        with open(f"{folder}/model.safetensors.index.json", "w") as f:
            json.dump({"weight_map": {"other": "model-00001-of-00002.safetensors",
                                      "emb": "model-00002-of-00002.safetensors"}}, f)


def hdf5(work, w, source):
    raw = w.tobytes()
    with h5py.File(f"{work}/link.h5", "w") as f:  # its own bytes first: a mapped read of them would be wrong
        f.create_dataset("pad", data=np.arange(40000, dtype=np.uint16))
        f["W"] = h5py.ExternalLink(os.path.abspath(source), "/W")
    with h5py.File(f"{work}/link_small.h5", "w") as f:
        f["W"] = h5py.ExternalLink(os.path.abspath(source), "/W")
    with open(f"{work}/half.raw", "wb") as f:
        f.write(raw[: len(raw) // 2])
    with open(f"{work}/full.raw", "wb") as f:
        f.write(b"\0" * 64 + raw)
    os.mkfifo(f"{work}/raw.fifo")
    for name, external in [("ext_half", [("half.raw", 0, len(raw))]), ("ext_full", [("full.raw", 64, len(raw))]),
                           ("ext_zero", [("/dev/zero", 0, len(raw))]), ("ext_fifo", [("raw.fifo", 0, len(raw))]),
                           ("ext_missing", [("absent.raw", 0, len(raw))])]:
        with h5py.File(f"{work}/{name}.h5", "w") as f:
            f.create_dataset("W", shape=w.shape, dtype=w.dtype, external=external)
    with h5py.File(f"{work}/lzf.h5", "w") as f:  # a filter the C library does not have
        f.create_dataset("W", data=w, compression="lzf", chunks=(1,) + w.shape[1:])
    with h5py.File(f"{work}/gzip.h5", "w") as f:
        f.create_dataset("W", data=w, compression="gzip", chunks=w.shape)
    with h5py.File(f"{work}/gzip.h5", "r") as f:
        offset = f["W"].id.get_chunk_info(0).byte_offset
    with open(f"{work}/gzip.h5", "r+b") as f:  # a corrupt compressed chunk
        f.seek(offset + 10)
        f.write(bytes(40))
    layout = h5py.VirtualLayout(shape=w.shape, dtype=w.dtype)
    layout[:] = h5py.VirtualSource(os.path.abspath(source), "W", shape=w.shape)
    with h5py.File(f"{work}/virtual.h5", "w") as f:
        f.create_virtual_dataset("W", layout)
    with h5py.File(f"{work}/huge.h5", "w") as f:  # 2^80 values declared, nothing written
        f.create_dataset("W", shape=(2**40, 2**40, 2**20), dtype="uint16", chunks=(1, 1, 1024))
    with h5py.File(f"{work}/huge_written.h5", "w") as f:  # 2^50 values declared, one chunk written
        f.create_dataset("W", shape=(2**20, 2**20, 2**10), dtype="uint16", chunks=(1, 1, 1024))[0, 0, :] = 1
    with h5py.File(f"{work}/many.h5", "w") as f:
        for i in range(20000):
            f.create_dataset(f"d{i:06d}", data=np.zeros(1, np.uint16))


def safetensors(work, w):
    matrix = w[0]
    # W covers 0..10240; the zero-size Z between hides X inside W from a neighbour check.
    header = {"W": {"dtype": "BF16", "shape": [5120], "data_offsets": [0, 10240]},
              "Z": {"dtype": "BF16", "shape": [0], "data_offsets": [5, 5]},
              "X": {"dtype": "BF16", "shape": [5], "data_offsets": [10, 20]}}
    with open(f"{work}/hidden_overlap.safetensors", "wb") as f:
        f.write(safetensors_bytes(json.dumps(header), bytes(10240)))
    raw = matrix.tobytes()
    entry = json.dumps({"dtype": "BF16", "shape": list(matrix.shape), "data_offsets": [0, len(raw)]})
    other = json.dumps({"dtype": "BF16", "shape": [1], "data_offsets": [len(raw), len(raw) + 2]})
    with open(f"{work}/duplicate.safetensors", "wb") as f:  # "W" twice
        f.write(safetensors_bytes('{"W": %s, "W": %s}' % (entry, other), raw + b"\0\0"))
    many = {"W": {"dtype": "BF16", "shape": list(matrix.shape), "data_offsets": [0, len(raw)]}}
    for i in range(100000):
        many[f"t{i:06d}"] = {"dtype": "BF16", "shape": [0], "data_offsets": [len(raw), len(raw)]}
    with open(f"{work}/many.safetensors", "wb") as f:
        f.write(safetensors_bytes(json.dumps(many), raw))


def main():
    kind, work, source = sys.argv[1:4]
    with h5py.File(source, "r") as f:
        w = f["W"][:]
    {"series": lambda: series(work, w), "hdf5": lambda: hdf5(work, w, source),
     "safetensors": lambda: safetensors(work, w)}[kind]()


if __name__ == "__main__":
    main()
