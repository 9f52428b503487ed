#!/usr/bin/python3
"""Inputs latdisp must refuse (exit 2, one message naming what was found),
written with h5py and the tests' own safetensors writer into the current
directory: float W in both formats, series whose entries disagree or lack the
tensor, a weight map naming a missing shard, empty and ambiguous series, a
manifest line that does not exist, a W never written, a chunked W with
chunks never written, a dead mask of the wrong length."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

bits = np.full((4, 3, 2), 0x3F80, dtype=np.uint16)
write_safetensors("f32.safetensors", [("W", "F32", np.ones((4, 3, 2), np.float32))])
write_safetensors("f16.safetensors", [("W", "F16", np.ones((4, 3, 2), np.float16))])
write_safetensors("matrix.safetensors", [("W", "BF16", bits[0])])
write_safetensors("mask_short.safetensors", [("dead", "BOOL", np.zeros(2, bool))])
write_safetensors("good.safetensors", [("W", "BF16", bits)])
with h5py.File("f16_w.h5", "w") as f:
    f.create_dataset("W", data=np.ones((4, 3, 2), np.float16))
with h5py.File("f32_w.h5", "w") as f:
    f.create_dataset("W", data=np.ones((4, 3, 2), np.float32))
with h5py.File("unallocated.h5", "w") as f:
    f.create_dataset("W", (11, 1000, 64), "u2")  # never written
with h5py.File("chunks_missing.h5", "w") as f:
    w = f.create_dataset("W", (11, 100, 8), "u2", chunks=(1, 100, 8))
    for step in (0, 1, 2, 3, 4, 5, 8, 10):  # 6, 7 and 9 never written
        w[step] = 0x3F80


def checkpoint(folder, tensors):
    os.makedirs(folder, exist_ok=True)
    write_safetensors(f"{folder}/model.safetensors", tensors)


matrix = bits[0]
for name, second in (("series_shape", [("W", "BF16", np.zeros((4, 2), np.uint16))]),
                     ("series_dtype", [("W", "U16", matrix)]),
                     ("series_missing", [("other", "BF16", matrix)])):
    checkpoint(f"{name}/checkpoint-100", [("W", "BF16", matrix)])
    checkpoint(f"{name}/checkpoint-20", [("W", "BF16", matrix)])
    checkpoint(f"{name}/checkpoint-300", second)
checkpoint("series_shard/checkpoint-1", [("W", "BF16", matrix)])
os.makedirs("series_shard/checkpoint-2", exist_ok=True)
write_safetensors("series_shard/checkpoint-2/model-00001-of-00002.safetensors", [("other", "BF16", matrix)])
with open("series_shard/checkpoint-2/model.safetensors.index.json", "w") as f:
    json.dump({"weight_map": {"other": "model-00001-of-00002.safetensors",
                              "W": "model-00002-of-00002.safetensors"}}, f)
os.makedirs("series_empty", exist_ok=True)
with open("series_empty/config.json", "w") as f:
    f.write("{}")
checkpoint("series_duplicate/checkpoint-5", [("W", "BF16", matrix)])
write_safetensors("series_duplicate/ckpt-5.safetensors", [("W", "BF16", matrix)])
checkpoint("series_hole/checkpoint-1", [("W", "BF16", matrix)])
os.makedirs("series_hole/checkpoint-2", exist_ok=True)  # written later, or never
with open("manifest_missing.txt", "w") as f:
    f.write("1 series_shape/checkpoint-20\n2 series_shape/checkpoint-999\n")
os.makedirs("folder.h5", exist_ok=True)
