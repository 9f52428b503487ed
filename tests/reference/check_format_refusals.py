#!/usr/bin/python3
"""What is none of the element formats (docs/formats.md §19) is refused by every command that
reads values: exit 2, exactly one "latdisp: error:" line (rank 0 only), naming what was found.
The inputs are written here with h5py and a safetensors writer from the format's description:
float64, 32-bit integers (signed and unsigned), 8-bit integers without a declared format, a
declared format whose width does not match the storage (an attribute, --element-type), the FNUZ
variants (safetensors dtypes and HDF5 attributes), a float dataset declaring another format, a
tensor whose byte count does not match its shape, and series of such checkpoints.

usage: check_format_refusals.py LATDISP WORKDIR RANKS MPIEXEC [MPIEXEC_FLAGS...]
Every case runs at one rank (an MPI singleton); at more ranks one case of each kind.
Prints one line per case; exits 1 if any case is not refused as it should be."""
import json
import os
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import write_safetensors  # noqa: E402

S, N, D = 3, 5, 4


def hdf5(path, data, declared=None):
    with h5py.File(path, "w") as f:
        f["W"] = data
        if declared:
            f["W"].attrs["dtype"] = declared


def raw_safetensors(path, dtype, shape, data_bytes):
    """A file whose tensor W has `dtype` and `shape` but `data_bytes` bytes of data."""
    text = json.dumps({"W": {"dtype": dtype, "shape": shape, "data_offsets": [0, data_bytes]}}).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(data_bytes))


def make_inputs(rng):
    small = rng.integers(0, 100, (S, N, D))
    hdf5("f64.h5", rng.random((S, N, D)))
    hdf5("i32.h5", small.astype(np.int32))
    hdf5("u32.h5", small.astype(np.uint32))
    hdf5("u8.h5", small.astype(np.uint8))
    hdf5("i8.h5", small.astype(np.int8))
    hdf5("u16_e5m2.h5", small.astype(np.uint16), "float8_e5m2")
    hdf5("u8_bf16.h5", small.astype(np.uint8), "bfloat16")
    hdf5("u8_e4m3.h5", small.astype(np.uint8), "float8_e4m3fn")
    hdf5("f32_bf16.h5", rng.random((S, N, D)).astype(np.float32), "bfloat16")
    hdf5("f16_e4m3.h5", rng.random((S, N, D)).astype(np.float16), "float8_e4m3fn")
    hdf5("u8_e4m3fnuz.h5", small.astype(np.uint8), "float8_e4m3fnuz")
    write_safetensors("f64.safetensors", [("W", "F64", rng.random((S, N, D)))])
    write_safetensors("i32.safetensors", [("W", "I32", small.astype(np.int32))])
    write_safetensors("u8.safetensors", [("W", "U8", small.astype(np.uint8))])
    write_safetensors("u16.safetensors", [("W", "U16", small.astype(np.uint16))])
    raw_safetensors("e4m3fnuz.safetensors", "F8_E4M3FNUZ", [S, N, D], S * N * D)
    raw_safetensors("e5m2fnuz.safetensors", "F8_E5M2FNUZ", [S, N, D], S * N * D)
    raw_safetensors("f16_short.safetensors", "F16", [S, N, D], 2 * S * N * D - 2)
    raw_safetensors("e5m2_long.safetensors", "F8_E5M2", [S, N, D], S * N * D + 8)
    os.makedirs("series_f64", exist_ok=True)
    for t in range(S):
        write_safetensors(f"series_f64/step_{t}.safetensors", [("W", "F64", rng.random((N, D)))])
    os.makedirs("series_fnuz", exist_ok=True)
    for t in range(S):
        raw_safetensors(f"series_fnuz/step_{t}.safetensors", "F8_E5M2FNUZ", [N, D], N * D)


# (arguments, part of the one message); CORE: one of each kind, the cases run at more than one rank.
CASES = [
    (["analyze", "--input", "f64.h5"], "'f64.h5' has type float64, none of the element formats"),
    (["analyze", "--input", "f64.safetensors"], "has dtype F64: float64 is none of the element formats"),
    (["analyze", "--input", "i32.h5"], "holds 32-bit integers (int32), none of the element formats"),
    (["analyze", "--input", "u32.h5"], "holds 32-bit integers (uint32), none of the element formats"),
    (["analyze", "--input", "i32.safetensors"], "holds 32-bit integers (I32), none of the element formats"),
    (["analyze", "--input", "u8.h5"], "holds 8-bit integers (uint8) without a declared format"),
    (["analyze", "--input", "i8.h5"], "holds 8-bit integers (int8) without a declared format"),
    (["analyze", "--input", "u8.safetensors"], "holds 8-bit integers (U8) without a declared format: store it as"),
    (["analyze", "--input", "u16_e5m2.h5"], "declares dtype = 'float8_e5m2' (8-bit) but holds 16-bit integers"),
    (["analyze", "--input", "u8_bf16.h5"], "declares dtype = 'bfloat16' (16-bit) but holds 8-bit integers"),
    (["analyze", "--input", "f32_bf16.h5"], "declares dtype = 'bfloat16' (bf16, 16-bit) but holds float32"),
    (["analyze", "--input", "f16_e4m3.h5"], "declares dtype = 'float8_e4m3fn' (f8e4m3, 8-bit) but holds float16"),
    (["analyze", "--input", "u8_e4m3.h5", "--element-type", "f16"],
     "--element-type f16 (16-bit) does not match dataset 'W' in 'u8_e4m3.h5', which holds 8-bit integers"),
    (["analyze", "--input", "u16.safetensors", "--element-type", "f32"],
     "--element-type f32 (32-bit) does not match tensor 'W' in 'u16.safetensors', which holds 16-bit integers"),
    (["analyze", "--input", "e4m3fnuz.safetensors"], "holds dtype F8_E4M3FNUZ: the FNUZ variants"),
    (["analyze", "--input", "e5m2fnuz.safetensors"], "holds dtype F8_E5M2FNUZ: the FNUZ variants"),
    (["analyze", "--input", "u8_e4m3fnuz.h5"], "attribute dtype = 'float8_e4m3fnuz': the FNUZ variants"),
    (["analyze", "--input", "f16_short.safetensors"], "(118 bytes) but its shape [3, 5, 4] of F16 needs 120 bytes"),
    (["analyze", "--input", "e5m2_long.safetensors"], "(68 bytes) but its shape [3, 5, 4] of F8_E5M2 needs 60 bytes"),
    (["analyze", "--input", "series_f64"], "checkpoint 'series_f64/step_0.safetensors' has dtype F64"),
    (["analyze", "--input", "series_fnuz"], "holds dtype F8_E5M2FNUZ: the FNUZ variants"),
    (["pack", "--input", "series_f64", "--output", "packed.h5"], "has dtype F64"),
    (["inspect", "--matrix", "e4m3fnuz.safetensors:W@0", "--tokens", "0", "--dims", "0"], "the FNUZ variants"),
    (["blackholes", "--matrix", "i32.h5:W@0"], "holds 32-bit integers (int32)"),
    (["blackholes", "--matrix", "u8.h5", "--steps", "all"], "without a declared format"),
]


CORE = {"f64.h5", "u8.h5", "f32_bf16.h5", "e5m2fnuz.safetensors", "f16_short.safetensors", "series_fnuz"}


def main():
    latdisp, work, ranks, mpiexec = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    make_inputs(np.random.default_rng(3))
    launch = [latdisp] if ranks == 1 else mpiexec + ["-np", str(ranks), latdisp]  # one rank: an MPI singleton
    failures = 0
    cases = CASES if ranks == 1 else [case for case in CASES if case[0][2] in CORE]
    for arguments, message in cases:
        try:
            done = subprocess.run(launch + arguments, capture_output=True, text=True, timeout=60)
            code, errors = done.returncode, [line for line in done.stderr.splitlines()
                                            if line.startswith("latdisp: error:")]
        except subprocess.TimeoutExpired:
            code, errors = "timeout", []
        ok = code == 2 and len(errors) == 1 and message in errors[0]
        failures += not ok
        print(("ok: " if ok else f"FAIL (exit {code}, {len(errors)} error lines, want 2 and 1 with '{message}'): ")
              + " ".join(arguments) + (f" -> {errors[0]}" if errors else ""))
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
